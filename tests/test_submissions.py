"""Collecting a class's submissions: the layouts LMSs and nbgrader write, real zips and
folders, every file accounted for, and each broken file costing its own student only.
Names and ids are made up."""

from __future__ import annotations

import copy
import io
import json
import os
import struct
import unicodedata
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import grading
from autograder.course import REPO
from autograder.notebooks import check
from autograder.roster import load
from autograder.submissions import MAX_NOTEBOOK_BYTES, collect
from tests.support.klass import fill

A = "01_rnn_limits"
NB = f"{A}.ipynb"
SOLUTION_NB_BYTES = (REPO / "solutions" / A / NB).read_bytes()
SOLUTION_NB = nbformat.reads(SOLUTION_NB_BYTES.decode(), as_version=4)
SOLUTION = {c.metadata.nbgrader.grade_id: c.source for c in SOLUTION_NB.cells
            if c.metadata.get("nbgrader", {}).get("solution")}  # fmt: skip
GOOD = nbformat.writes(fill(A, SOLUTION)).encode()
BLANK = nbformat.writes(fill(A, {})).encode()
WEB_PAGE = b'<!DOCTYPE html>\n<html lang="en"><head><title>01_rnn_limits.ipynb - JupyterLab'


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def make_folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return root


def by_id(collected) -> dict:
    return {s.student: s for s in collected.submissions}


def accounted(collected) -> list[str]:
    """Every line the instructor is shown for files that were not graded."""
    lines = list(collected.unplaced)
    for sub in collected.submissions:
        lines += sub.ignored + list(sub.rejected.values())
    return lines


def test_moodle_download_all_folders_and_flat_with_a_resubmission(tmp_path):
    moodle = make_zip(tmp_path / "moodle.zip", {
        f"Jane Doe_123456_assignsubmission_file_/{NB}": BLANK,
        f"Jane Doe_123456_assignsubmission_file_/{A} (1).ipynb": GOOD,  # newer: counts
        "Jane Doe_123456_assignsubmission_onlinetext_onlinetext.html": b"<p>done</p>",
        f"Ravi Kumar_123457_assignsubmission_file_{NB}": GOOD,  # Moodle's flat variant
    })  # fmt: skip
    found = by_id(collect(moodle, A, [NB]))
    assert set(found) == {"123456", "123457"}
    jane = found["123456"]
    assert jane.name == "Jane Doe" and jane.notebooks == {NB: GOOD}
    assert any("superseded" in note and f"{A} (1).ipynb graded" in note for note in jane.notes)
    assert any(line.startswith(f"Jane Doe_123456_assignsubmission_file_/{NB}: superseded")
               for line in jane.ignored)  # fmt: skip
    assert any("onlinetext.html: not one of" in line for line in jane.ignored)
    assert found["123457"].name == "Ravi Kumar" and found["123457"].notebooks == {NB: GOOD}


def test_canvas_bulk_download_late_and_resubmitted(tmp_path):
    canvas = make_zip(tmp_path / "submissions.zip", {
        f"doejane_12345_678901_{NB}": BLANK,
        f"doejane_12345_678902_{A}-1.ipynb": GOOD,  # Canvas renames a resubmission
        f"kumarravi_LATE_12346_678903_{NB}": BLANK,
        f"kumarravi_LATE_12346_678903_{A} (1).ipynb": GOOD,  # a browser's second download
        f"leemin_12347_678904_{A}-2.ipynb": GOOD,
        f"leemin_12347_678904_{A}-1.ipynb": BLANK,
        f"royleo_12348_678905_{A}.pdf": b"%PDF-1.4",  # handed in a PDF: still a student
    })  # fmt: skip
    collected = collect(canvas, A, [NB])
    found = by_id(collected)
    assert set(found) == {"12345", "12346", "12347", "12348"}
    assert found["12348"].notebooks == {} and found["12348"].name == "royleo"
    assert any(f"{A}.pdf: not one of" in line for line in found["12348"].ignored)
    del found["12348"]
    assert all(sub.notebooks == {NB: GOOD} for sub in found.values())
    assert found["12346"].name == "kumarravi"
    assert f"kumarravi_LATE_12346_678903_{A} (1).ipynb: marked late by the LMS (LATE in its " \
           "name)" in found["12346"].notes  # the one graded; the on-time students have none
    assert not any("late" in note for note in found["12345"].notes)
    assert any(f"leemin_12347_678904_{A}-1.ipynb superseded" in n for n in found["12347"].notes)
    assert not collected.unplaced


def test_a_canvas_like_name_outside_a_canvas_download_is_nobodys(tmp_path):
    """Only in a Canvas download is every Canvas-named file a student's: beside folders
    of students, a stray notes_2024_10_draft.txt makes no student 2024."""
    folders = make_zip(tmp_path / "class.zip", {
        f"alice/{NB}": GOOD,
        "notes_2024_10_draft.txt": b"x",
    })  # fmt: skip
    collected = collect(folders, A, [NB])
    assert set(by_id(collected)) == {"alice"}
    assert any(line.startswith("notes_2024_10_draft.txt") for line in collected.unplaced)


def test_canvas_anonymous_grading_names_each_student_by_anonymous_id(tmp_path):
    """With anonymous grading Canvas writes ``[LATE_]anon_<id>_<file id>_<file>`` (no
    name): the anonymous id, which SpeedGrader shows, is the student, whether late or
    not and whatever file id each upload got."""
    canvas = make_zip(tmp_path / "submissions.zip", {
        f"anon_Ab3xY_678901_{NB}": BLANK,
        f"anon_Ab3xY_678902_{A}-1.ipynb": GOOD,  # the resubmission: counts
        f"LATE_anon_Zq9Rt_678903_{NB}": GOOD,
        f"anon_K7pWm_678904_{A}_final.ipynb": GOOD,  # renamed: the only notebook
    })  # fmt: skip
    collected = collect(canvas, A, [NB])
    found = by_id(collected)
    assert set(found) == {"anon_Ab3xY", "anon_Zq9Rt", "anon_K7pWm"}
    assert all(sub.notebooks == {NB: GOOD} for sub in found.values())
    assert not collected.unplaced
    assert any("marked late" in note for note in found["anon_Zq9Rt"].notes)


def test_a_renamed_notebook_is_the_students_only_notebook_not_nothing(tmp_path):
    """Downloads as LMSs lay them out, each student's one notebook under another name
    (saved as "…_final", duplicated by Jupyter as "…-Copy1"): graded, with a note."""
    moodle = make_zip(tmp_path / "moodle.zip", {
        f"Jane Doe_101_assignsubmission_file_/{A}_final.ipynb": GOOD,
        f"Ravi Kumar_102_assignsubmission_file_/{A}-Copy1.ipynb": GOOD,
        "Ravi Kumar_102_assignsubmission_file_/notes.txt": b"x",
        f"Li Wei_103_assignsubmission_file_/{NB}": GOOD,  # named right: as before
        "Li Wei_103_assignsubmission_file_/scratch.ipynb": BLANK,  # a second: left out
        "Ann Lee_104_assignsubmission_file_/a.ipynb": BLANK,  # two others: which one?
        "Ann Lee_104_assignsubmission_file_/b.ipynb": GOOD,
    })  # fmt: skip
    found = by_id(collect(moodle, A, [NB]))
    assert found["101"].notebooks == {NB: GOOD} and found["102"].notebooks == {NB: GOOD}
    assert any(f"{A}-Copy1.ipynb graded as {NB}" in note for note in found["102"].notes)
    assert found["103"].notebooks == {NB: GOOD}
    assert any("scratch.ipynb: not one of" in line for line in found["103"].ignored)
    assert found["104"].notebooks == {}  # not guessed: both listed, and why
    assert sum("not one of" in line for line in found["104"].ignored) == 2
    canvas = make_zip(tmp_path / "canvas.zip", {
        f"smithalice_123_456_{A}_final.ipynb": GOOD,
        "leemin_LATE_125_458_Lab1-Copy1.ipynb": GOOD,
        f"doejane_124_457_{NB}": BLANK,
    })  # fmt: skip
    found = by_id(collect(canvas, A, [NB]))
    assert set(found) == {"123", "124", "125"}  # the Canvas ids, not made-up ones
    assert found["123"].name == "smithalice" and found["123"].notebooks == {NB: GOOD}
    assert found["125"].notebooks == {NB: GOOD}


def test_a_file_name_a_student_chose_never_makes_it_anothers(tmp_path):
    """Moodle and Canvas write their prefix, then the name the student gave the file:
    a name that carries another prefix (another student's id) is still the uploader's;
    a name with more before the notebook's is still the notebook."""
    canvas = make_zip(tmp_path / "canvas.zip", {
        f"smithalice_123_460_x_999_assignsubmission_file_{A} (9).ipynb": BLANK,
        f"jonesbob_999_461_{NB}": GOOD,
        f"doejane_124_457_HW1 {NB}": GOOD,
        f"leemin_125_458_min_{NB}": GOOD,
    })  # fmt: skip
    found = by_id(collect(canvas, A, [NB]))
    assert set(found) == {"123", "124", "125", "999"}
    assert found["123"].notebooks == {NB: BLANK} and found["999"].notebooks == {NB: GOOD}
    assert found["999"].ignored == []  # not "superseded" by alice's file
    moodle = make_zip(tmp_path / "moodle.zip", {
        f"Alice Smith_101_assignsubmission_file_x_102_assignsubmission_file_{NB}": BLANK,
        f"Bob Jones_102_assignsubmission_file_{NB}": GOOD,
    })  # fmt: skip
    found = by_id(collect(moodle, A, [NB]))
    assert found["101"].notebooks == {NB: BLANK} and found["102"].notebooks == {NB: GOOD}


def test_nbgrader_collect_tree_and_exchange_inbound_newest_counts(tmp_path):
    old, new = "2024-03-01 10:00:00.000000 UTC", "2024-03-02 09:30:00.000000 UTC"
    folder = make_folder(tmp_path / "course", {
        f"submitted/amara/{A}/{NB}": GOOD,
        f"submitted/amara/{A}/timestamp.txt": b"2024-03-01 10:00:00",
        f"inbound/bilal+{A}+{old}+AbCd/{NB}": BLANK,
        f"inbound/bilal+{A}+{new}+EfGh/{NB}": GOOD,
    })  # fmt: skip
    found = by_id(collect(folder / "submitted", A, [NB]))
    assert set(found) == {"amara"} and found["amara"].notebooks == {NB: GOOD}
    assert any("timestamp.txt: nbgrader's submission time" in i for i in found["amara"].ignored)
    found = by_id(collect(folder, A, [NB]))
    assert set(found) == {"amara", "bilal"}
    assert found["bilal"].notebooks == {NB: GOOD}
    assert any(f"an earlier exchange submission ({old}" in i for i in found["bilal"].ignored)


def test_github_classroom_clones_with_the_notebook_anywhere(tmp_path):
    folder = make_folder(tmp_path / "rnn-limits-submissions", {
        f"rnn-limits-octo-cat/notebooks/{NB}": GOOD,
        "rnn-limits-octo-cat/README.md": b"# hw",
        "rnn-limits-octo-cat/.git/HEAD": b"ref: refs/heads/main",
        "rnn-limits-octo-cat/.git/config": b"[core]",
        f"rnn-limits-mona/{NB}": GOOD,
        "rnn-limits-mona/.git/HEAD": b"ref: refs/heads/main",
    })  # fmt: skip
    found = by_id(collect(folder, A, [NB]))
    assert set(found) == {"octo-cat", "mona"}
    assert all(sub.notebooks == {NB: GOOD} for sub in found.values())
    assert "rnn-limits-octo-cat/.git/ (2 files): hidden or system files, not read" in \
        found["octo-cat"].ignored  # fmt: skip


def test_a_zip_of_one_top_folder_and_browser_renamed_notebooks(tmp_path):
    classzip = make_zip(tmp_path / "class.zip", {
        f"class/amy/{A} (1).ipynb": GOOD,  # the only copy: it is the notebook
        f"class/bo/{A}/{NB}": GOOD,
        f"class/cy_{NB}": GOOD,
        "class/notes.txt": b"to do",
        f"class/{NB}": BLANK,  # whose?
        "__MACOSX/class/._amy": b"junk",
    })  # fmt: skip
    collected = collect(classzip, A, [NB])
    assert set(by_id(collected)) == {"amy", "bo", "cy"}  # no student called "class"
    assert all(sub.notebooks == {NB: GOOD} for sub in collected.submissions)
    assert any(line.startswith("class/notes.txt: names no student") for line in collected.unplaced)
    assert any(line.startswith(f"class/{NB}: ") for line in collected.unplaced)
    assert "__MACOSX/ (1 file): hidden or system files, not read" in collected.unplaced
    one = make_zip(tmp_path / "one.zip", {f"dee/{A}/{NB}": GOOD})  # one student: kept
    assert set(by_id(collect(one, A, [NB]))) == {"dee"}


def test_names_that_are_not_ids_give_ids_that_keep_students_apart(tmp_path):
    """Folder names that are not ids ("Müller", a name in another script) are made into
    ids; two different names never merge into one student, whose newest file would then
    hide the other's, in one class or across runs and assignments."""
    folder = make_folder(tmp_path / "class", {
        f"Müller/{NB}": GOOD, f"Möller/{NB}": BLANK,
        f"张伟/{NB}": GOOD, f"李娜/{NB}": BLANK,
        f"Anne Marie/{NB}": BLANK, f"Anne_Marie/{NB}": GOOD,  # the second is an id already
    })  # fmt: skip
    collected = collect(folder, A, [NB])
    subs = {sub.name or sub.student: sub for sub in collected.submissions}
    assert len(subs) == 6 and len(by_id(collected)) == 6
    assert all(sub.ignored == [] for sub in collected.submissions)  # nothing "superseded"
    for name, content in [("Müller", GOOD), ("Möller", BLANK), ("张伟", GOOD), ("李娜", BLANK),
                          ("Anne Marie", BLANK), ("Anne_Marie", GOOD)]:  # fmt: skip
        assert subs[name].notebooks == {NB: content}, name
    assert subs["Anne_Marie"].student == "Anne_Marie"
    assert subs["Anne Marie"].student.startswith("Anne_Marie_")
    assert subs["Müller"].student.startswith("Muller_") and subs["张伟"].student.startswith(
        "student_")
    assert any("made from '李娜'" in note for note in subs["李娜"].notes)
    # Müller alone, in another run, and written as a Mac writes it (NFD): the same id
    alone = make_folder(tmp_path / "later", {
        unicodedata.normalize("NFD", f"Müller/{NB}"): GOOD, f"张伟/{NB}": GOOD})
    assert sorted(by_id(collect(alone, A, [NB]))) == sorted(
        [subs["Müller"].student, subs["张伟"].student])


def test_a_roster_maps_lms_ids_and_lists_who_submitted_nothing(tmp_path):
    roster_csv = tmp_path / "students.csv"
    roster_csv.write_text("id,lms_id,email,first_name,last_name\n"
                          "s001,,jane.doe@example.edu,Jane,Doe\n"
                          "s002,12346,,Ravi,Kumar\n"
                          "s003,,,Min,Lee\n")  # fmt: skip
    canvas = make_zip(tmp_path / "mixed.zip", {
        f"Jane Doe_555001_assignsubmission_file_/{NB}": GOOD,  # Moodle: matched by name
        f"kumarravi_12346_678903_{NB}": GOOD,  # Canvas: matched by lms_id
        f"someone_99999_678905_{NB}": GOOD,  # not on the roster
    })  # fmt: skip
    collected = collect(canvas, A, [NB], load(roster_csv))
    found = by_id(collected)
    assert set(found) == {"s001", "s002", "99999"}
    assert found["s001"].name == "Jane Doe" and found["s002"].name == "Ravi Kumar"
    assert collected.missing == ["s003"]
    assert any("not on the roster" in n for n in found["99999"].notes)
    (tmp_path / "bad.csv").write_text("student,email\nx,y\n")
    with pytest.raises(ValueError, match="needs an 'id' column"):
        load(tmp_path / "bad.csv")
    (tmp_path / "twice.csv").write_text("id\ns1\ns1\n")
    with pytest.raises(ValueError, match="line 3: id 's1' is already on line 2"):
        load(tmp_path / "twice.csv")


def nbformat3() -> bytes:
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""}, "worksheets": [
        {"cells": [{"cell_type": "code", "input": "x = 1", "language": "python",
                    "metadata": {}, "outputs": [], "prompt_number": 1}], "metadata": {}}]}
    return json.dumps(v3).encode()  # fmt: skip


@pytest.mark.parametrize("content, reason", [
    (WEB_PAGE, "is a web page (HTML), not a notebook"),
    (GOOD[:5000], "is not valid JSON (line"),
    (b"", "is empty"),
    (b'{"name": "not a notebook"}', "is JSON but not a Jupyter notebook"),
    (b"\xff\xd8\xff\xe0 a photo", "is not a text file"),
])  # fmt: skip
def test_a_broken_notebook_costs_its_own_student_only(tmp_path, content, reason):
    classzip = make_zip(tmp_path / "class.zip", {f"ann/{NB}": GOOD, f"ben/{NB}": content})
    found = by_id(collect(classzip, A, [NB]))
    assert found["ann"].notebooks == {NB: GOOD} and not found["ann"].rejected
    assert found["ben"].notebooks == {}
    assert found["ben"].rejected[NB].startswith(f"ben/{NB} {reason}")


def test_cells_of_odd_shapes_cost_their_own_student_only(tmp_path):
    """Cells with no source, a number for source, nbgrader metadata that is null, a list
    for a grade id, beside a test cell that lost its marker: the class is collected and
    its markers checked (the malformed notebook fails later, in its own grading)."""
    odd = json.loads(GOOD)
    for cell in odd["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "test_rnn_step":
            cell["metadata"] = {}
    code = {"cell_type": "code", "outputs": [], "execution_count": None}
    odd["cells"] += [{**code, "metadata": {}}, {**code, "metadata": {}, "source": 5},
                     {**code, "metadata": {"nbgrader": None}, "source": "x = 1"},
                     {**code, "metadata": {"nbgrader": {"grade_id": ["x"]}}, "source": "y = 2"}]
    folder = make_folder(tmp_path / "class", {f"amy/{NB}": GOOD,
                                              f"bo/{NB}": json.dumps(odd).encode()})
    collected = collect(folder, A, [NB])
    grading._restore_markers(collected, {NB: SOLUTION_NB_BYTES})
    bo = by_id(collected)["bo"]
    assert any("test cell test_rnn_step found by its text" in note for note in bo.notes)
    assert by_id(collected)["amy"].notebooks == {NB: GOOD}  # untouched, not even read


def test_nbformat_3_is_upgraded_and_noted():
    checked = check(nbformat3())
    assert nbformat.reads(checked.content.decode(), as_version=4).nbformat == 4
    assert any("nbformat 3" in note and "upgraded" in note for note in checked.notes)


def test_duplicated_grade_ids_keep_the_first_and_say_which_cells():
    nb = fill(A, SOLUTION)
    cells = nb.cells
    test = next(i for i, c in enumerate(cells) if c.metadata.nbgrader.grade_id == "test_rnn_step")
    cells.append(copy.deepcopy(cells[test]))  # a copied test cell, at the end
    cells[-1].id = "pasted"  # JupyterLab gives a pasted cell an id of its own
    checked = check(nbformat.writes(nb).encode())
    repaired = nbformat.reads(checked.content.decode(), as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in repaired.cells]
    assert ids.count("test_rnn_step") == 1 and ids.index("test_rnn_step") == test
    assert "nbgrader" not in repaired.cells[-1].metadata
    assert checked.notes == [f"cells {test + 1} and {len(cells)} all carried grade_id "
                             "'test_rnn_step' (a copied or split cell): cell "
                             f"{test + 1} is graded as 'test_rnn_step'; cell {len(cells)} ran "
                             "as ordinary code"]  # fmt: skip


def test_hostile_zip_entries_are_refused_and_listed(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"ann/{NB}", GOOD)
        archive.writestr(f"ben/../../{NB}", GOOD)  # climbs out
        archive.writestr(f"/etc/cron.d/{NB}", GOOD)  # absolute
        link = zipfile.ZipInfo(f"cara/{NB}")
        link.external_attr = (0o120777 << 16)  # a symlink entry pointing at a host file
        archive.writestr(link, "/etc/passwd")
    path = tmp_path / "hostile.zip"
    path.write_bytes(buffer.getvalue())
    collected = collect(path, A, [NB])
    found = by_id(collected)
    assert found["ann"].notebooks == {NB: GOOD}
    assert any("climbs out of its folder (..)" in line for line in found["ben"].ignored)
    assert any(line.startswith(f"/etc/cron.d/{NB}: has an absolute path")
               for line in collected.unplaced)  # fmt: skip
    assert found["cara"].rejected[NB] == f"cara/{NB} is a symbolic link in the zip: not followed"


def test_symlinks_in_a_folder_are_not_followed(tmp_path):
    secret = tmp_path / "outside" / "secret.ipynb"
    make_folder(tmp_path / "outside", {"secret.ipynb": GOOD, "dir/x.ipynb": GOOD})
    root = make_folder(tmp_path / "class", {f"ann/{NB}": GOOD, "ben/README.md": b"hi"})
    os.symlink(secret, root / "ben" / NB)
    os.symlink(tmp_path / "outside" / "dir", root / "ben" / "linked")
    found = by_id(collect(root, A, [NB]))
    assert found["ann"].notebooks == {NB: GOOD}
    assert found["ben"].notebooks == {}
    assert found["ben"].rejected[NB] == f"ben/{NB} is a symbolic link (to a file): not followed"
    assert "ben/linked: is a symbolic link (to a folder): not followed" in found["ben"].ignored


def test_zip_bombs_and_huge_notebooks_are_not_read(tmp_path):
    bomb = b"{" + b" " * (MAX_NOTEBOOK_BYTES + 10) + b"}"  # compresses to a few kB
    path = make_zip(tmp_path / "bombs.zip", {f"ann/{NB}": GOOD, f"ben/{NB}": bomb,
                                             f"cy/{NB}": bomb})  # fmt: skip
    data = bytearray(path.read_bytes())  # cy's central directory entry lies about its size
    entry = data.find(b"PK\x01\x02", data.find(b"PK\x01\x02") + 1)
    entry = data.find(b"PK\x01\x02", entry + 1)
    assert data[entry + 46 : entry + 46 + len(f"cy/{NB}")] == f"cy/{NB}".encode()
    data[entry + 24 : entry + 28] = struct.pack("<I", 1000)
    path.write_bytes(bytes(data))
    found = by_id(collect(path, A, [NB]))
    assert found["ann"].notebooks == {NB: GOOD}
    assert "declares 20 MiB uncompressed, over the 20 MiB limit" in found["ben"].rejected[NB]
    # zipfile stops at the declared size, and then the checksum does not match
    assert "content is not what its header declares (a zip bomb?)" in found["cy"].rejected[NB]
    root = make_folder(tmp_path / "folder", {f"ann/{NB}": GOOD})
    (root / "dan").mkdir()
    with open(root / "dan" / NB, "wb") as handle:  # 200 MB, sparse: nothing to read
        handle.truncate(200 * 2**20)
    found = by_id(collect(root, A, [NB]))
    assert found["dan"].rejected[NB] == f"dan/{NB} is 200 MiB, over the 20 MiB limit: not read"
    assert found["ann"].notebooks == {NB: GOOD}


def test_every_file_of_the_input_is_graded_or_listed(tmp_path):
    files = {
        f"class/Jane Doe_123456_assignsubmission_file_/{NB}": BLANK,
        f"class/Jane Doe_123456_assignsubmission_file_/{A} (1).ipynb": GOOD,
        "class/Jane Doe_123456_assignsubmission_file_/lstm_ref.py": b"raise SystemExit",
        f"class/Jon Roe_123457_assignsubmission_file_/{NB}": WEB_PAGE,
        "class/ann/data.csv": b"1,2",
        f"class/ann/{NB}": GOOD,
        "class/readme.md": b"x",
    }  # fmt: skip
    collected = collect(make_zip(tmp_path / "class.zip", files), A, [NB])
    lines = accounted(collected)
    graded = {"class/Jane Doe_123456_assignsubmission_file_/01_rnn_limits (1).ipynb",
              f"class/ann/{NB}"}  # fmt: skip
    for name in set(files) - graded:
        assert sum(line.startswith(name + ":") or line.startswith(name + " ")
                   for line in lines) == 1, name  # fmt: skip
    assert sum(len(s.notebooks) for s in collected.submissions) == len(graded)


@pytest.mark.grading
def test_a_mixed_class_is_graded_each_fault_costing_its_own_student(tmp_path):
    """A Moodle zip: a resubmission, a web page saved as the notebook, a copied test cell
    and an answer cell split in two; the good students graded, the class never stopped."""
    split = fill(A, SOLUTION)
    k = next(i for i, c in enumerate(split.cells) if c.metadata.nbgrader.grade_id == "rnn_step")
    head = copy.deepcopy(split.cells[k])  # JupyterLab's split: both halves keep the metadata
    head.source, head.id = "import numpy as np  # the first half", "split-half"
    split.cells.insert(k, head)
    copied = fill(A, SOLUTION)
    t = next(i for i, c in enumerate(copied.cells)
             if c.metadata.nbgrader.grade_id == "test_jacobian_norms")  # fmt: skip
    copied.cells.insert(t + 1, copy.deepcopy(copied.cells[t]))
    copied.cells[t + 1].id = "pasted"
    moodle = make_zip(tmp_path / "moodle.zip", {
        f"Jane Doe_100001_assignsubmission_file_/{NB}": BLANK,
        f"Jane Doe_100001_assignsubmission_file_/{A} (1).ipynb": GOOD,
        f"Jon Roe_100002_assignsubmission_file_/{NB}": WEB_PAGE,
        f"Kim Park_100003_assignsubmission_file_/{NB}": nbformat.writes(copied).encode(),
        f"Lu Chen_100004_assignsubmission_file_/{NB}": nbformat.writes(split).encode(),
        f"Max Berg_100005_assignsubmission_file_/{NB}": BLANK,
    })  # fmt: skip
    results = {r.student: r for r in grading.grade(A, moodle, tmp_path / "ws", workers=2,
                                                   progress=False)}  # fmt: skip
    got = {s: (r.total, r.status) for s, r in results.items()}
    assert got == {"100001": (5, "graded"), "100002": (0, "invalid"), "100003": (5, "graded"),
                   "100004": (5, "graded"), "100005": (0, "graded")}  # fmt: skip
    assert "is a web page (HTML), not a notebook" in results["100002"].reason
    collection = json.loads((tmp_path / "ws" / "results" / A / "_collection.json").read_text())
    assert "100002" in collection["rejected"] and collection["names"]["100001"] == "Jane Doe"
    assert any(f"cells {t + 1} and {t + 2} all carried grade_id 'test_jacobian_norms'" in n
               for n in collection["notes"]["100003"])  # fmt: skip
    assert any(f"cells {k + 1} and {k + 2} all carried grade_id 'rnn_step'" in n
               for n in collection["notes"]["100004"])  # fmt: skip
    assert [r["student"] for r in grading.load_results(tmp_path / "ws", A)] == sorted(results)
