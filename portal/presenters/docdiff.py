"""Two rule documents side by side: the lines that differ, with a little unchanged context.

The texts compared are the documents pretty-printed with sorted keys (the canonical form,
indented), so a change shows up on the lines of the fields it touches.
"""

import difflib
import json

CONTEXT = 3  # unchanged lines kept either side of a change
MAX_LINES = 20_000  # longer documents are not compared line by line here
MAX_ROWS = 3_000  # rows shown; the rest is counted
SMALL_REGION = 250_000  # lines × lines that difflib compares exactly in well under a second
EDIT_BUDGET = 400_000  # steps of the shortest-edit search before it gives way to anchors
ANCHOR_BUDGET = 2_000_000  # lines scanned for anchors before the rest is left to the fast heuristic


def pretty_text(document):
    """The document indented by two with sorted keys, exactly as `json.dumps(indent=2, sort_keys=True)`.

    Written without recursion: a stored document may be nested nearly a thousand levels deep,
    more than the standard library's indenting encoder can walk from inside a request.
    """
    return "\n".join(_pretty(document)[0])


def path_lines(document):
    """The line of `pretty_text(document)` on which each JSON path (`$.eligibility.and[0]`) starts."""
    return _pretty(document)[1]


def _pretty(document):
    out, starts = [], {}
    stack = [(document, 0, "", "", "$")]  # value, level, key prefix, trailing comma, path; or a closing line
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        value, level, prefix, suffix, path = item
        starts.setdefault(path, len(out) + 1)
        pad = "  " * level
        if isinstance(value, dict) and value:
            entries = sorted(value.items())
            out.append(f"{pad}{prefix}{{")
            stack.append(f"{pad}}}{suffix}")
            for index in range(len(entries) - 1, -1, -1):
                key, child = entries[index]
                comma = "," if index < len(entries) - 1 else ""
                stack.append((child, level + 1, json.dumps(key, ensure_ascii=False) + ": ", comma, f"{path}.{key}"))
        elif isinstance(value, list) and value:
            out.append(f"{pad}{prefix}[")
            stack.append(f"{pad}]{suffix}")
            for index in range(len(value) - 1, -1, -1):
                comma = "," if index < len(value) - 1 else ""
                stack.append((value[index], level + 1, "", comma, f"{path}[{index}]"))
        else:
            out.append(f"{pad}{prefix}{json.dumps(value, ensure_ascii=False)}{suffix}")
    return out, starts


def _row(kind, left_no=None, left=None, right_no=None, right=None):
    return {"kind": kind, "left_no": left_no, "left": left, "right_no": right_no, "right": right}


def _collapsed(count):
    noun = "line" if count == 1 else "lines"
    return {**_row("collapsed"), "count": count, "text": f"… {count:,} unchanged {noun} …"}


def _same_rows(old, new, i1, i2, j1, j2, *, first, last):
    """Unchanged lines: only CONTEXT lines next to a change are kept, the rest collapse."""
    pairs = [(i1 + k, j1 + k) for k in range(i2 - i1)]
    keep_head = 0 if first else CONTEXT
    keep_tail = 0 if last else CONTEXT
    if len(pairs) <= keep_head + keep_tail + 1:  # collapsing a single line would hide nothing
        kept = [pairs]
        hidden = 0
    else:
        kept = [pairs[:keep_head], pairs[len(pairs) - keep_tail :]]
        hidden = len(pairs) - keep_head - keep_tail
    rows = [_row("same", i + 1, old[i], j + 1, new[j]) for i, j in kept[0]]
    if hidden:
        rows.append(_collapsed(hidden))
        rows.extend(_row("same", i + 1, old[i], j + 1, new[j]) for i, j in kept[1])
    return rows


def _anchors(old, new, a_lo, a_hi, b_lo, b_hi):
    """Lines found exactly once on each side, in an order both sides agree on (patience sorting)."""
    counts = {}
    for i in range(a_lo, a_hi):
        seen = counts.setdefault(old[i], [0, i, 0, None])
        seen[0] += 1
    for j in range(b_lo, b_hi):
        seen = counts.get(new[j])
        if seen is not None:
            seen[2] += 1
            seen[3] = j
    pairs = sorted((i, j) for a_count, i, b_count, j in counts.values() if a_count == 1 and b_count == 1)
    # The longest run of pairs increasing on the right too: piles of patience sorting.
    tops, back = [], {}
    for i, j in pairs:
        pile = _pile(tops, j)
        back[(i, j)] = tops[pile - 1] if pile else None
        if pile == len(tops):
            tops.append((i, j))
        else:
            tops[pile] = (i, j)
    chain, node = [], tops[-1] if tops else None
    while node is not None:
        chain.append(node)
        node = back[node]
    return chain[::-1]


def _pile(tops, j):
    low, high = 0, len(tops)
    while low < high:
        middle = (low + high) // 2
        if tops[middle][1] < j:
            low = middle + 1
        else:
            high = middle
    return low


def _shortest_edit(a, b, budget):
    """Matched pairs (i, j) of a shortest edit script (Myers), or None past `budget` steps.

    Fast when the two sides differ in few lines, which is the usual case between versions.
    """
    n, m = len(a), len(b)
    v, trace, steps = {1: 0}, [], 0
    for d in range(n + m + 1):
        trace.append(dict(v))
        for k in range(-d, d + 1, 2):
            x = v[k + 1] if k == -d or (k != d and v[k - 1] < v[k + 1]) else v[k - 1] + 1
            y = x - k
            start = x
            while x < n and y < m and a[x] == b[y]:
                x, y = x + 1, y + 1
            steps += x - start + 1
            v[k] = x
            if x >= n and y >= m:
                return _backtrack(trace, n, m)
        if steps > budget:
            return None
    return None


def _backtrack(trace, x, y):
    pairs = []
    for d in range(len(trace) - 1, -1, -1):
        v, k = trace[d], x - y
        previous_k = k + 1 if k == -d or (k != d and v[k - 1] < v[k + 1]) else k - 1
        previous_x = v[previous_k]
        previous_y = previous_x - previous_k
        while x > previous_x and y > previous_y:
            x, y = x - 1, y - 1
            pairs.append((x, y))
        x, y = previous_x, previous_y
    return pairs[::-1]


def matching_blocks(old, new):
    """Runs of equal lines (i, j, n), in order.

    Common first and last lines are matched directly; a small region goes to difflib; a large one
    to a shortest-edit search, which is quick when few lines differ; failing that, lines unique
    on both sides anchor the rest (patience diff). difflib alone, without its junk heuristic, is
    quadratic on the repeated braces of indented JSON and takes minutes on a large document;
    with it, it matches almost nothing there.
    """
    blocks, scanned = [], 0
    regions = [(0, len(old), 0, len(new))]
    while regions:
        a_lo, a_hi, b_lo, b_hi = regions.pop()
        head = 0
        while a_lo + head < a_hi and b_lo + head < b_hi and old[a_lo + head] == new[b_lo + head]:
            head += 1
        tail = 0
        while a_hi - tail > a_lo + head and b_hi - tail > b_lo + head and old[a_hi - tail - 1] == new[b_hi - tail - 1]:
            tail += 1
        if head:
            blocks.append((a_lo, b_lo, head))
        if tail:
            blocks.append((a_hi - tail, b_hi - tail, tail))
        a_lo, b_lo, a_hi, b_hi = a_lo + head, b_lo + head, a_hi - tail, b_hi - tail
        if a_lo == a_hi or b_lo == b_hi:
            continue
        if (a_hi - a_lo) * (b_hi - b_lo) <= SMALL_REGION:
            matcher = difflib.SequenceMatcher(None, old[a_lo:a_hi], new[b_lo:b_hi], autojunk=False)
            blocks.extend((a_lo + i, b_lo + j, n) for i, j, n in matcher.get_matching_blocks() if n)
            continue
        pairs = _shortest_edit(old[a_lo:a_hi], new[b_lo:b_hi], EDIT_BUDGET)
        if pairs is not None:
            blocks.extend((a_lo + i, b_lo + j, 1) for i, j in pairs)
            continue
        scanned += (a_hi - a_lo) + (b_hi - b_lo)
        anchors = _anchors(old, new, a_lo, a_hi, b_lo, b_hi) if scanned <= ANCHOR_BUDGET else []
        if not anchors:  # nothing to hold on to: difflib's fast, coarser heuristic
            matcher = difflib.SequenceMatcher(None, old[a_lo:a_hi], new[b_lo:b_hi], autojunk=True)
            blocks.extend((a_lo + i, b_lo + j, n) for i, j, n in matcher.get_matching_blocks() if n)
            continue
        previous_i, previous_j = a_lo, b_lo
        for i, j in anchors:
            regions.append((previous_i, i, previous_j, j))
            blocks.append((i, j, 1))
            previous_i, previous_j = i + 1, j + 1
        regions.append((previous_i, a_hi, previous_j, b_hi))
    blocks.sort()
    merged = []
    for i, j, n in blocks:
        if merged and merged[-1][0] + merged[-1][2] == i and merged[-1][1] + merged[-1][2] == j:
            merged[-1] = (merged[-1][0], merged[-1][1], merged[-1][2] + n)
        else:
            merged.append((i, j, n))
    return merged


def opcodes(old, new):
    """Like difflib's get_opcodes: (tag, i1, i2, j1, j2) covering both sides in order."""
    codes, i, j = [], 0, 0
    for a, b, n in [*matching_blocks(old, new), (len(old), len(new), 0)]:
        if i < a and j < b:
            codes.append(("replace", i, a, j, b))
        elif i < a:
            codes.append(("delete", i, a, j, b))
        elif j < b:
            codes.append(("insert", i, a, j, b))
        if n:
            codes.append(("equal", a, a + n, b, b + n))
        i, j = a + n, b + n
    return codes


def side_by_side(old_text, new_text):
    """Rows {kind, left_no, left, right_no, right}: kind is same, changed, added, removed or collapsed.

    A collapsed row stands for `count` unchanged lines and carries the text "… N unchanged lines …".
    """
    old, new = old_text.splitlines(), new_text.splitlines()
    codes = opcodes(old, new)
    rows = []
    for index, (tag, i1, i2, j1, j2) in enumerate(codes):
        if tag == "equal":
            first, last = index == 0, index == len(codes) - 1
            rows.extend(_same_rows(old, new, i1, i2, j1, j2, first=first, last=last))
        elif tag == "delete":
            rows.extend(_row("removed", i + 1, old[i]) for i in range(i1, i2))
        elif tag == "insert":
            rows.extend(_row("added", right_no=j + 1, right=new[j]) for j in range(j1, j2))
        else:  # replace: pair the lines up; what is left over was removed or added
            for k in range(max(i2 - i1, j2 - j1)):
                i, j = i1 + k, j1 + k
                if i < i2 and j < j2:
                    rows.append(_row("changed", i + 1, old[i], j + 1, new[j]))
                elif i < i2:
                    rows.append(_row("removed", i + 1, old[i]))
                else:
                    rows.append(_row("added", right_no=j + 1, right=new[j]))
    return rows


def summary(rows):
    """How many lines were added, removed and changed, and how many stayed the same."""
    counts = {"added": 0, "removed": 0, "changed": 0, "same": 0}
    for row in rows:
        if row["kind"] == "collapsed":
            counts["same"] += row["count"]
        else:
            counts[row["kind"]] += 1
    return counts


def compare(old_text, new_text, *, old_label=None, new_label=None):
    """What the template shows: None when nothing is live in production, else the state and rows.

    `state` is "same" (identical texts), "changed" (rows and counts) or "too_large".
    """
    if old_text is None:
        return None
    caption = f"Changes from {old_label or 'the production version'} in production to {new_label or 'this version'}"
    result = {"state": "same", "caption": caption, "old_label": old_label, "new_label": new_label}
    if old_text == new_text:
        return result
    old_lines, new_lines = old_text.count("\n") + 1, new_text.count("\n") + 1
    if max(old_lines, new_lines) > MAX_LINES:
        return {**result, "state": "too_large", "lines": max(old_lines, new_lines), "limit": MAX_LINES}
    rows = side_by_side(old_text, new_text)
    counts = summary(rows)
    shown = rows[:MAX_ROWS]
    return {**result, "state": "changed", "rows": shown, "summary": counts, "hidden_rows": len(rows) - len(shown)}
