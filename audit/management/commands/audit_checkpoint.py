from django.conf import settings
from django.core.management.base import BaseCommand

from audit.services import write_checkpoint


class Command(BaseCommand):
    help = (
        "Sign the audit chain's end now (its last event, that event's hash, how many events) and append "
        "it to PDP_AUDIT_CHECKPOINT_FILE. The worker does this every PDP_AUDIT_CHECKPOINT_SECONDS."
    )

    def handle(self, *args, **options):
        checkpoint = write_checkpoint()
        if checkpoint is None:
            self.stdout.write("The audit history is empty: nothing to sign.")
            return
        self.stdout.write(
            f"Checkpoint at event #{checkpoint.last_event_id} ({checkpoint.events} events), "
            f"signed with key {checkpoint.key_id}, in {settings.PDP_AUDIT_CHECKPOINT_FILE}."
        )
