"""A population file larger than PDP_DATASET_INLINE_BYTES is kept and checked by the worker, with progress; the
Datasets page follows it until it is stored or refused."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from budget.models import Dataset, DatasetUpload
from budget.services import queue_dataset_upload, run_dataset_upload, sweep_dataset_uploads
from budget.tasks import check_dataset_upload
from engine.errors import InvalidInput
from pdp_portal.exceptions import NotPermitted
from tests.conftest import last_event

from .conftest import GOOD_CSV

BAD_CSV = b"id,age,weight\n1,34,1\n2,old,1\n3,70,-2\n"


def kept_files(data_dir):
    folder = data_dir / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def queued(budget_officer, raw=GOOD_CSV, name="Census sample"):
    return queue_dataset_upload(raw, actor=budget_officer, name=name, filename="census.csv")


def test_queueing_keeps_the_file_and_records_it(budget_officer, data_dir, django_capture_on_commit_callbacks):
    """The upload is queued with its file kept under uploads/, one dataset.upload.queue event, and its job
    published after the commit; no Dataset yet."""
    with django_capture_on_commit_callbacks(execute=False) as published:
        upload = queued(budget_officer)
    assert (upload.status, upload.progress, upload.size_bytes, upload.uploaded_by) == (
        "queued", 0, len(GOOD_CSV), budget_officer,
    )  # fmt: skip
    assert upload.file_path.read_bytes() == GOOD_CSV and len(kept_files(data_dir)) == 1
    event = last_event("dataset.upload.queue")
    assert (event.actor, event.target_id, event.data["bytes"]) == (budget_officer, str(upload.pk), len(GOOD_CSV))
    assert len(published) == 1 and not Dataset.objects.exists()


def test_the_check_stores_the_dataset_and_forgets_the_file(budget_officer, data_dir):
    """Run by the worker: the Dataset is stored (its own dataset.upload event), the upload says stored at 100%."""
    upload = run_dataset_upload(queued(budget_officer).pk)
    dataset = Dataset.objects.get()
    assert (upload.status, upload.progress, upload.dataset, upload.attempts) == ("stored", 100, dataset, 1)
    assert (dataset.name, dataset.row_count, dataset.created_by) == ("Census sample", 3, budget_officer)
    assert last_event("dataset.upload").outcome == "done"
    assert kept_files(data_dir) == []
    assert run_dataset_upload(upload.pk).status == "stored" and Dataset.objects.count() == 1  # delivered again


def test_a_refused_file_keeps_its_problems_and_stores_nothing(budget_officer, data_dir):
    """A file with problems ends refused, with the message and each problem's line and column; nothing stored."""
    upload = run_dataset_upload(queued(budget_officer, BAD_CSV).pk)
    assert upload.status == "refused" and "problems" in upload.problems
    assert {p["line"] for p in upload.problems["problems"]} == {3, 4}
    assert upload.message
    assert not Dataset.objects.exists() and kept_files(data_dir) == []
    assert last_event("dataset.upload").outcome == "refused"


def test_a_check_that_meets_an_error_fails_at_once(budget_officer, data_dir):
    """The kept file gone before the check: the upload fails with the error named, on its first attempt."""
    upload = queued(budget_officer)
    upload.file_path.unlink()
    assert check_dataset_upload.delay(upload.pk).get() == "failed"
    upload.refresh_from_db()
    assert upload.attempts == 1 and "FileNotFoundError" in upload.message
    event = last_event("dataset.upload.fail")
    assert (event.actor, event.target_id, event.data["error"]) == (None, str(upload.pk), "FileNotFoundError")
    assert not Dataset.objects.exists()


def test_only_the_budget_office_may_queue_and_a_bad_name_and_size_are_said_together(
    counsel, budget_officer, data_dir, settings
):
    """Refused before anything is kept: someone without the role; a missing name and a file over the limit at once."""
    with pytest.raises(NotPermitted):
        queued(counsel)
    assert last_event("dataset.upload").outcome == "refused"
    settings.PDP_DATASET_MAX_BYTES = 10
    with pytest.raises(InvalidInput) as refused:
        queued(budget_officer, name=" ")
    assert set(refused.value.details["fields"]) == {"name", "file"}
    assert "the limit is 10 bytes" in refused.value.details["fields"]["file"]
    assert kept_files(data_dir) == [] and not DatasetUpload.objects.exists()


def test_the_sweeper_queues_again_a_check_whose_worker_died_then_gives_up(
    budget_officer, settings, django_capture_on_commit_callbacks
):
    """Checking with a heartbeat silent past PDP_DEAD_WORKER_SECONDS: queued again; past the attempt limit, failed."""
    settings.PDP_CHECK_MAX_ATTEMPTS = 2
    upload = queued(budget_officer)
    silent = timezone.now() - dt.timedelta(seconds=settings.PDP_DEAD_WORKER_SECONDS + 5)
    DatasetUpload.objects.filter(pk=upload.pk).update(status="checking", heartbeat_at=silent, attempts=1)
    with django_capture_on_commit_callbacks(execute=False) as published:
        assert sweep_dataset_uploads() == [upload.pk]
    assert len(published) == 1 and DatasetUpload.objects.get(pk=upload.pk).status == "queued"
    assert last_event("dataset.upload.requeue").data == {"attempts": 1}
    DatasetUpload.objects.filter(pk=upload.pk).update(status="checking", heartbeat_at=silent, attempts=2)
    assert sweep_dataset_uploads() == []
    upload.refresh_from_db()
    assert upload.status == "failed" and "after 2 attempts" in upload.message
    assert last_event("dataset.upload.abandon").data == {"attempts": 2}


def test_the_page_sends_a_large_file_to_the_worker_and_follows_it(
    client, budget_officer, settings, django_capture_on_commit_callbacks
):
    """Over the inline limit: the form answers at once that the file is being checked; the page shows its progress
    and polls while it is checked, then shows it stored and stops polling."""
    settings.PDP_DATASET_INLINE_BYTES = 100
    client.force_login(budget_officer)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            reverse("dataset-list"),
            {"name": "Census sample", "file": SimpleUploadedFile("census.csv", GOOD_CSV)},
            follow=True,
        )
    page = response.content.decode()
    assert "is being checked in the background" in page
    assert "Uploads being checked" in page and 'hx-trigger="every 1s"' in page
    assert "Queued: 0%" in page and not Dataset.objects.exists()

    run_dataset_upload(DatasetUpload.objects.get().pk)
    page = client.get(reverse("dataset-list")).content.decode()
    assert 'hx-trigger="every 1s"' not in page
    assert "stored</span> as “Census sample”" in page


def test_a_small_file_is_still_checked_in_the_request(client, budget_officer):
    """At or under the inline limit nothing is queued: the dataset is stored by the request itself."""
    client.force_login(budget_officer)
    client.post(reverse("dataset-list"), {"name": "Small", "file": SimpleUploadedFile("s.csv", GOOD_CSV)})
    assert Dataset.objects.filter(name="Small").exists() and not DatasetUpload.objects.exists()


def test_the_page_makes_the_same_queries_for_1_and_10_uploads(client, budget_officer, django_assert_num_queries):
    """The uploads list reads its rows, people and datasets in constant queries."""
    client.force_login(budget_officer)
    run_dataset_upload(queued(budget_officer).pk)
    url = reverse("dataset-list")
    client.get(url)
    with CaptureQueriesContext(connection) as first:
        client.get(url)
    for n in range(9):
        queued(budget_officer, GOOD_CSV + f"4,Lane,{n},1,true,true,97401,1\n".encode(), name=f"Sample {n}")
    with django_assert_num_queries(len(first)):
        page = client.get(url).content.decode()
    assert page.count('<tr id="upload-') == 10
