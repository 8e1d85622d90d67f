"""The embedded broker (pdp_portal/broker.py) under concurrent producers and consumers: nothing lost, nothing doubled."""

import json
import multiprocessing
import os
from collections import Counter

import pytest
from kombu import Connection, Exchange, Queue

from pdp_portal.broker import Transport

PRODUCERS = 6
PER_PRODUCER = 60  # 360 messages in all
CONSUMERS = 2


def _options(folder):
    queue = os.path.join(folder, "queue")
    for sub in ("queue", "control"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    return {
        "data_folder_in": queue,
        "data_folder_out": queue,
        "control_folder": os.path.join(folder, "control"),
        "polling_interval": 0.01,
    }


def _connection(folder):
    return Connection("filesystem://", transport=Transport, transport_options=_options(folder))


def _queue(name):
    # kombu keeps the bindings it has made in process-wide state: a name of each test's own.
    return Queue(name, Exchange(name, type="direct"), routing_key=name)


def _produce(folder, name, producer, count, start):
    queue = _queue(name)
    start.wait()
    with _connection(folder) as conn:
        publish = conn.ensure(conn.Producer(), conn.Producer().publish)
        for n in range(count):
            # Sizes vary up to ~100 kB, so some writes take several system calls.
            publish(
                {"id": f"{producer}-{n}", "pad": "x" * (n * 1500)},
                exchange=queue.exchange,
                routing_key=name,
                declare=[queue],
            )


def _consume(folder, name, out_path, expected, start):
    start.wait()
    seen = []
    with _connection(folder) as conn:
        queue = conn.SimpleQueue(_queue(name))
        idle = 0
        while idle < 30:  # stop after 3 s with nothing left
            try:
                message = queue.get(timeout=0.1)
            except queue.Empty:
                idle += 1
                continue
            idle = 0
            seen.append(message.payload["id"])
            message.ack()
            if len(seen) >= expected:
                break
        queue.close()
    with open(out_path, "w") as handle:
        json.dump(seen, handle)


def test_concurrent_producers_and_consumers_lose_and_double_nothing(tmp_path):
    """360 messages from 6 producer processes, taken by 2 consumer processes at once: each arrives exactly once."""
    folder, name = str(tmp_path / "broker"), f"soak-{tmp_path.name}"
    with _connection(folder) as conn:
        _queue(name)(conn.default_channel).declare()
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    total = PRODUCERS * PER_PRODUCER
    outs = [tmp_path / f"consumer-{i}.json" for i in range(CONSUMERS)]
    processes = [ctx.Process(target=_consume, args=(folder, name, str(out), total, start)) for out in outs]
    processes += [ctx.Process(target=_produce, args=(folder, name, p, PER_PRODUCER, start)) for p in range(PRODUCERS)]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0, f"{process.name} exited with {process.exitcode}"

    received = Counter(i for out in outs for i in json.loads(out.read_text()))
    expected = {f"{p}-{n}" for p in range(PRODUCERS) for n in range(PER_PRODUCER)}
    assert set(received) == expected, f"lost: {sorted(expected - set(received))[:10]}"
    assert [i for i, c in received.items() if c > 1] == []
    assert all(json.loads(out.read_text()) for out in outs), "one consumer took nothing: no contention was tested"
    assert os.listdir(os.path.join(folder, "queue")) == []
    assert os.listdir(os.path.join(folder, "claimed")) == []
    assert os.listdir(os.path.join(folder, "tmp")) == []


def test_a_message_file_being_written_is_not_taken(tmp_path):
    """A file still being written (as kombu's stock transport leaves one) is not in the queue folder until whole."""
    folder, name = str(tmp_path / "broker"), f"whole-{tmp_path.name}"
    with _connection(folder) as conn:
        _queue(name)(conn.default_channel).declare()
        conn.Producer().publish({"id": "whole"}, exchange=name, routing_key=name)
        names = os.listdir(os.path.join(folder, "queue"))
        assert len(names) == 1 and names[0].endswith(f".{name}.msg")
        assert os.listdir(os.path.join(folder, "tmp")) == []
        with open(os.path.join(folder, "queue", names[0])) as handle:
            assert json.load(handle)
        queue = conn.SimpleQueue(_queue(name))
        assert queue.get(timeout=1).payload == {"id": "whole"}
        queue.close()


def test_an_unreadable_message_is_set_aside_and_the_next_is_delivered(tmp_path, caplog):
    """An empty or broken message file is moved to rejected/ and logged; the consumer goes on to the next one."""
    folder, name = str(tmp_path / "broker"), f"broken-{tmp_path.name}"
    with _connection(folder) as conn:
        _queue(name)(conn.default_channel).declare()
        queue_dir = os.path.join(folder, "queue")
        # Older stamps sort first: the broken files (stamp 0) are met before the good message.
        old_a, old_b = (f"{0:020d}_{n}.{name}.msg" for n in "ab")
        open(os.path.join(queue_dir, old_a), "wb").close()
        with open(os.path.join(queue_dir, old_b), "wb") as handle:
            handle.write(b'{"body": "trunc')
        conn.Producer().publish({"id": "good"}, exchange=name, routing_key=name)
        queue = conn.SimpleQueue(_queue(name))
        assert queue.get(timeout=2).payload == {"id": "good"}
        queue.close()
    assert sorted(os.listdir(os.path.join(folder, "rejected"))) == [old_a, old_b]
    assert "Unreadable broker message" in caplog.text


@pytest.mark.parametrize("queues", [1, 5])
def test_binding_tables_stay_whole(tmp_path, queues):
    """Binding queues to an exchange rewrites its table whole; every binding is there once."""
    folder = str(tmp_path / "broker")
    with _connection(folder) as conn:
        fan = f"fan-{tmp_path.name}"
        exchange = Exchange(fan, type="fanout")
        for n in range(queues):
            Queue(f"{fan}-q{n}", exchange)(conn.default_channel).declare()
            Queue(f"{fan}-q{n}", exchange)(conn.default_channel).declare()
        table = conn.default_channel.get_table(fan)
    assert sorted(q.queue for q in table) == sorted(f"{fan}-q{n}" for n in range(queues))


def test_messages_come_out_in_the_order_they_went_in(tmp_path):
    """Names carry a fixed-width stamp, so the sorted order consumers take is the order of sending."""
    folder, name = str(tmp_path / "broker"), f"fifo-{tmp_path.name}"
    with _connection(folder) as conn:
        _queue(name)(conn.default_channel).declare()
        for n in range(25):
            conn.Producer().publish({"id": n}, exchange=name, routing_key=name)
        stamps = [f.partition("_")[0] for f in os.listdir(os.path.join(folder, "queue"))]
        assert len({len(s) for s in stamps}) == 1 and all(s.isdigit() for s in stamps)
        queue = conn.SimpleQueue(_queue(name))
        received = [queue.get(timeout=1).payload["id"] for _ in range(25)]
        queue.close()
    assert received == list(range(25))


def test_a_queue_unbound_from_its_exchange_leaves_the_table(tmp_path):
    """Deleting a queue removes its binding from the exchange table on disk and keeps the others."""
    folder, fan = str(tmp_path / "broker"), f"unbind-{tmp_path.name}"
    with _connection(folder) as conn:
        exchange = Exchange(fan, type="fanout")
        kept, dropped = (Queue(f"{fan}-{n}", exchange)(conn.default_channel) for n in ("kept", "dropped"))
        kept.declare()
        dropped.declare()
        dropped.delete()
        table = conn.default_channel.get_table(fan)
    assert [q.queue for q in table] == [f"{fan}-kept"]
