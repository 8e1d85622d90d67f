from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.services import standing_off_the_record
from audit.services import CheckpointUnreadable, read_checkpoint_file, verify_against_checkpoint, verify_chain


class Command(BaseCommand):
    help = (
        "Verify the audit history's hash chain and seals, against the latest checkpoint of an exported file, "
        "and that everyone's roles are the ones it records; exits non-zero on any break."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoint",
            metavar="FILE",
            help="an exported checkpoint file, kept away from the database (default: PDP_AUDIT_CHECKPOINT_FILE)",
        )

    def handle(self, *args, **options):
        count, problems = verify_chain()
        path = options["checkpoint"] or settings.PDP_AUDIT_CHECKPOINT_FILE
        checkpoint = None
        if options["checkpoint"] or Path(path).exists():
            try:
                checkpoint = read_checkpoint_file(path)
            except CheckpointUnreadable as exc:
                raise CommandError(str(exc)) from exc
        since = 0
        if checkpoint is not None:
            since, against = verify_against_checkpoint(checkpoint)
            problems += against
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"Audit chain broken: {len(problems)} problem(s) in {count} events.")
        off_record = standing_off_the_record()
        if off_record:
            for problem in off_record:
                self.stderr.write(problem)
            raise CommandError(
                f"Roles off the record: {len(off_record)} person(s) hold groups or flags that no audit event gave them."
            )
        if count == 0:
            # Not "intact": a history with nothing in it proves nothing, and on a portal that has
            # been used it means the events are gone.
            self.stdout.write("The audit history is empty: 0 events, nothing verified.")
            return
        if checkpoint is None:
            anchor = f"no checkpoint in {path}, so events cut from the end would not show"
        else:
            anchor = (
                f"its end matches the checkpoint of {checkpoint['at']} at event #{checkpoint['last_event']}, "
                f"with {since} event(s) since"
            )
        self.stdout.write(f"Audit chain intact: {count} events verified; {anchor}; everyone's roles are on record.")
