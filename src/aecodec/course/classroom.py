"""The classroom edition: student notebooks made from the course's solution notebooks.

The notebooks in `notebooks/` are the teacher's edition. Every exercise cell holds its
solution between `### BEGIN SOLUTION` and `### END SOLUTION` (nbgrader's markers), and
the code cell after it calls a check from `aecodec.course.exercises`. The student edition
replaces each solution by a stub,

    def to_batch(pixels: np.ndarray) -> torch.Tensor:
        # ✏️ YOUR CODE HERE, in place of the line below
        raise NotImplementedError("Exercise 1 (to_batch): Write `to_batch(pixels)`: ...")

so that the check says "not implemented yet" until the learner writes the code. The hint
comes from the exercise's statement in the markdown cell above it. The outputs
of exercise and check cells are cleared, and so are those of cells tagged
`reveals-answer` (a cell that prints what the learner was asked to predict or compute,
such as the predicted and measured PSNRs after a prediction exercise); every other cell
keeps its saved output, so learners can read ahead; the note at the top asks them to
commit to each prediction before scrolling past its exercise, since the prose after one
may give its answer away. A cell tagged `answer-in-source` as well (a cell whose *code*
gives an exercise's answer away) also loses its code in the student edition: a note says
what it defined and a `raise NotImplementedError(...)` stands in for it, as for an exercise.
No notebook uses the tag since review r11-D (08's `table_cost`, the cross-entropy its
`cheaper_rung` asks for, had it; the notebook now imports it from the package after the
check).

Holds: `student_notebook` (one notebook), `build` (the whole course into a folder, what
`aecodec classroom build` runs), `solutions` / `insert_solutions` (take the solutions
out of a teacher's notebook and write them into a student's, as a learner would),
`exercise_cells` / `check_cell` (where the exercises are, in either edition), `main` (`python -m
aecodec.course.classroom OUT_DIR`).
Does not hold: the checks (`aecodec.course.exercises`) or any grading; for grades, nbgrader reads
the teacher's notebooks directly (docs/teachers.md).

Nothing but the notebooks is copied: they load their photos and models through the
installed `aecodec` package, not from files beside them. Notebook 10 also shows the
repository's benchmark results and the published curves of $AECODEC_REFERENCE where they
are found, and says what is missing where they are not (docs/teachers.md).
"""

import copy
import os
import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from aecodec._atomic import atomic_write
from aecodec.errors import AecodecError

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = "# ✏️ YOUR CODE HERE, in place of the line below"
NBVAL_MARK = "# NBVAL_CHECK_OUTPUT"  # nbval's comment marker, older notebooks
NBVAL_TAG = "nbval-check-output"  # the same as a cell tag, what the course uses
REVEALS_ANSWER = "reveals-answer"  # a cell tag: its outputs give an exercise's answer away
ANSWER_IN_SOURCE = "answer-in-source"  # a cell tag: its code gives an exercise's answer away
MAX_HINT = 200  # characters: a longer statement is cut down to its key sentence

STUDENT_NOTE = """\
> **Student edition.** Each ✏️ exercise below ends in `raise NotImplementedError(...)`:
> replace that line with your code, run the cell, then run the check in the cell after it.
> Until then the check says "not implemented yet", and later cells that use your function
> stop with an error. The other cells keep their outputs, so you can read ahead, but where an
> exercise asks you to predict, write your prediction down and run its check before you scroll
> past it: the text after an exercise often gives its answer away."""

NO_EXERCISE_NOTE = """\
> **Student edition.** This notebook has no checked exercises: read it, run it, change the
> settings and run it again. The cells keep their outputs, so where the text asks you to
> guess first, make your guess before you read the output below it."""


# --- finding the exercises ----------------------------------------------------------------


def _lines(cell: NotebookNode) -> list[str]:
    return cell.source.split("\n")


def _is_exercise(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and any(
        line.strip() in (BEGIN, END, STUB) for line in _lines(cell)
    )


def exercise_cells(nb: NotebookNode) -> list[int]:
    """Indices of the cells a learner completes: those holding a solution or a stub.

    Args:
        nb: a teacher's or a student's notebook.
    """
    return [index for index, cell in enumerate(nb.cells) if _is_exercise(cell)]


def check_cell(nb: NotebookNode, index: int) -> int | None:
    """The index of the cell that checks exercise cell `index`: the next code cell, if it
    calls a check; else None.

    Args:
        nb: a teacher's or a student's notebook.
        index: the index of an exercise cell.
    """
    following = [i for i in range(index + 1, len(nb.cells)) if nb.cells[i].cell_type == "code"]
    if following and "check_" in nb.cells[following[0]].source:
        return following[0]
    return None


def _regions(source: str, where: str) -> list[tuple[int, int]]:
    """(BEGIN line, END line) of every solution region of a cell's source."""
    regions, begin = [], None
    for number, line in enumerate(source.split("\n")):
        if line.strip() == BEGIN:
            if begin is not None:
                raise AecodecError(f"{where}: {BEGIN} inside another solution")
            begin = number
        elif line.strip() == END:
            if begin is None:
                raise AecodecError(f"{where}: {END} without {BEGIN}")
            regions.append((begin, number))
            begin = None
    if begin is not None:
        raise AecodecError(f"{where}: {BEGIN} without {END}")
    return regions


# --- the hint of a stub -------------------------------------------------------------------


def _markdown_above(nb: NotebookNode, index: int) -> str:
    """The nearest markdown cell above cell `index`: where its exercise is stated."""
    above = [cell.source for cell in nb.cells[:index] if cell.cell_type == "markdown"]
    return above[-1] if above else ""


def _statement(markdown: str) -> tuple[str, str]:
    """("Exercise 2", the text under that heading, on one line) from a markdown cell."""
    lines = markdown.split("\n")
    for number, line in enumerate(lines):
        heading = re.match(r"#+ .*?(Exercise \d+)", line)
        if heading:
            text = " ".join(lines[number + 1:]).replace("**", "")
            return heading.group(1), " ".join(text.split())
    return "Exercise", ""


def _best_sentence(statement: str, name: str | None) -> str:
    """The statement if short, else its sentence that names the function, else the one
    that says what to return, else the first."""
    if len(statement) <= MAX_HINT:
        return statement
    sentences = re.split(r"(?<=[.?!])\s+", statement)
    patterns = [rf"`{re.escape(name)}\b"] if name else []
    for pattern in [*patterns, r"\breturn"]:
        matching = [s for s in sentences if re.search(pattern, s, flags=re.IGNORECASE)]
        if matching:
            return matching[0]
    return sentences[0]


def _hint(nb: NotebookNode, index: int) -> str:
    """The message of a stub: which exercise, and what to write, from its statement."""
    markdown = _markdown_above(nb, index)
    title, statement = _statement(markdown)
    names = re.findall(r"^\s*def (\w+)", nb.cells[index].source, flags=re.MULTILINE)
    name = names[0] if names else None
    if name:
        title += f" ({name})"
    if statement:
        return f"{title}: {_best_sentence(statement, name)}"
    if "$$" in markdown:  # the statement is the formula just above the exercise
        return f"{title}: turn the formula above into Python."
    return f"{title}: write the code the text above asks for."


def _python_string(text: str) -> str:
    """`text` as a Python string literal, in double quotes like the rest of the course."""
    if '"' in text or "\\" in text:
        return repr(text)
    return f'"{text}"'


# --- the student edition ------------------------------------------------------------------


def _stub_out(cell: NotebookNode, hint: str, where: str) -> None:
    """Replace every solution region of `cell` by the stub, at the markers' indentation."""
    lines = _lines(cell)
    for begin, end in reversed(_regions(cell.source, where)):
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        stub = [indent + STUB, f"{indent}raise NotImplementedError({_python_string(hint)})"]
        lines[begin:end + 1] = stub
    cell.source = "\n".join(lines)


def _tags(cell: NotebookNode) -> list[str]:
    tags = cell.metadata.get("tags", [])
    return tags if isinstance(tags, list) else []


def _clear(cell: NotebookNode) -> None:
    """Forget a cell's run: outputs, execution count, timings, and nbval's output check
    (the saved output it would compare against is gone)."""
    cell.outputs = []
    cell.execution_count = None
    cell.metadata.pop("execution", None)
    if NBVAL_TAG in _tags(cell):
        cell.metadata.tags = [tag for tag in _tags(cell) if tag != NBVAL_TAG]
        if not cell.metadata.tags:
            del cell.metadata["tags"]
    cell.source = "\n".join(line for line in _lines(cell) if line.strip() != NBVAL_MARK)


def _hide_source(cell: NotebookNode) -> None:
    """Replace the code of a cell that gives an exercise's answer away by a note naming what
    it defined, and a raise (review r8-D: notebook 08's table_cost answered cheaper_rung)."""
    names = re.findall(r"^(?:def|class) (\w+)", cell.source, flags=re.MULTILINE)
    defined = " and ".join(", ".join(names).rsplit(", ", 1)) or "what the cells below use"
    cell.source = (
        "# Hidden in the student edition: this cell's code is the answer to the exercise\n"
        f"# above. It defines {defined}, which cells below use: once your check says\n"
        "# Correct, write them here from your own solution (until then those cells stop).\n"
        "raise NotImplementedError("
        + _python_string(f"hidden until you have done the exercise above: write {defined} "
                         "here from your own solution") + ")")


def student_notebook(nb: NotebookNode, name: str = "notebook") -> NotebookNode:
    """The student edition of a teacher's notebook (a new notebook; `nb` is unchanged).

    Args:
        nb: a notebook whose exercise cells hold solutions between the markers.
        name: what to call it in error messages, e.g. its file name.
    """
    student = copy.deepcopy(nb)
    exercises = exercise_cells(student)
    for index in exercises:
        _stub_out(student.cells[index], _hint(student, index), f"{name}, cell {index}")
        _clear(student.cells[index])
        check = check_cell(student, index)
        if check is not None:
            _clear(student.cells[check])
    for cell in student.cells:
        if cell.cell_type == "code" and REVEALS_ANSWER in _tags(cell):
            _clear(cell)
        if cell.cell_type == "code" and ANSWER_IN_SOURCE in _tags(cell):
            _clear(cell)
            _hide_source(cell)
    note = STUDENT_NOTE if exercises else NO_EXERCISE_NOTE
    # a fixed id, not a random one, so that building twice writes the same bytes
    note_cell = nbformat.v4.new_markdown_cell(note, id="student-edition-note")
    student.cells.insert(1, note_cell)  # after the title
    return student


def solutions(nb: NotebookNode) -> list[str]:
    """The code of every solution region of a teacher's notebook, in order, with its
    indentation (the lines between the markers, without the markers).

    Args:
        nb: a teacher's notebook.
    """
    found = []
    for index in exercise_cells(nb):
        lines = _lines(nb.cells[index])
        for begin, end in _regions(nb.cells[index].source, f"cell {index}"):
            found.append("\n".join(lines[begin + 1:end]))
    return found


def insert_solutions(student: NotebookNode, code: list[str]) -> NotebookNode:
    """A student's notebook with its stubs replaced by `code`, as a learner would do it.

    Args:
        student: a student's notebook, as `student_notebook` made it.
        code: one piece of code per stub, in order (what `solutions` returns).
    """
    solved = copy.deepcopy(student)
    stubs = sum(line.strip() == STUB for cell in solved.cells for line in _lines(cell))
    if stubs != len(code):
        raise ValueError(f"the notebook has {stubs} stubs but {len(code)} solutions were given")
    pieces = iter(code)
    for cell in solved.cells:
        lines, filled = iter(_lines(cell)), []
        for line in lines:
            if line.strip() == STUB:
                next(lines)  # the `raise NotImplementedError(...)` under it
                filled.append(next(pieces))
            else:
                filled.append(line)
        cell.source = "\n".join(filled)
    return solved


# --- the whole course ---------------------------------------------------------------------


def _refuse_inside(out_dir: Path, notebooks_dir: Path) -> None:
    out, source = out_dir.resolve(), notebooks_dir.resolve()
    if out == source or source in out.parents:
        raise AecodecError(f"{out_dir}: the student edition cannot go in {notebooks_dir} (the "
                           "solution notebooks) or a folder inside it; choose another, "
                           "e.g. student/")


def _refuse_overwriting_work(target: Path, data: bytes) -> None:
    if target.exists() and target.read_bytes() != data:
        raise AecodecError(f"{target} exists and is not the fresh student edition (a learner's "
                           "work, or an older edition?): move it away, or pass --force")


def course_notebooks() -> Path:
    """The folder of the course's own notebooks.

    They are `notebooks/` of the repository, which a wheel carries as
    `aecodec/course/notebooks/` (see pyproject.toml). That folder has no __init__.py (it
    would be the first thing JupyterLab's file browser shows), and setuptools' editable
    install cannot map such a folder into a package, so it is looked for where each kind
    of install puts it rather than imported.
    """
    here = Path(__file__).resolve().parent  # .../aecodec/course
    installed, checkout = here / "notebooks", here.parents[2] / "notebooks"  # src/../notebooks
    for folder in (installed, checkout):
        if any(folder.glob("*.ipynb")):
            return folder
    raise AecodecError(f"the course notebooks are in neither {installed} nor {checkout}; "
                       "reinstall aecodec, or pass the notebooks' folder (--notebooks)")


def build(out_dir: str | os.PathLike, notebooks_dir: str | os.PathLike | None = None,
          overwrite: bool = False) -> dict[Path, int]:
    """Write the student edition of every notebook into `out_dir`.

    Nothing is written until every student notebook is made, and each file appears
    complete or not at all, so a broken notebook never leaves a half-built edition.

    Args:
        out_dir: the folder for the student notebooks; made if missing. It may not be
            inside `notebooks_dir`.
        notebooks_dir: the teacher's notebooks; default: the course's own (`notebooks/`
            of the repository, carried by an installed aecodec).
        overwrite: replace student notebooks that differ from the fresh edition (by
            default they are left alone, in case a learner worked in them).

    Returns:
        {path written: number of exercises in it}.
    """
    out_dir = Path(out_dir)
    notebooks_dir = Path(notebooks_dir) if notebooks_dir else course_notebooks()
    sources = sorted(notebooks_dir.glob("*.ipynb"))
    if not sources:
        raise AecodecError(f"{notebooks_dir}: no notebooks (*.ipynb) there")
    _refuse_inside(out_dir, notebooks_dir)
    editions = {}
    for source in sources:
        student = student_notebook(nbformat.read(source, as_version=4), source.name)
        data = (nbformat.writes(student) + "\n").encode()
        target = out_dir / source.name
        if not overwrite:
            _refuse_overwriting_work(target, data)
        editions[target] = (data, len(exercise_cells(student)))
    for target, (data, _) in editions.items():
        with atomic_write(target) as f:
            f.write(data)
    return {target: count for target, (_, count) in editions.items()}


def main(argv: list[str] | None = None) -> int:
    """`python -m aecodec.course.classroom OUT_DIR [--notebooks DIR] [--force]`: the same as
    `aecodec classroom build` (which the command line reaches through `aecodec.cli`)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m aecodec.course.classroom",
                                     description="Write the student edition of the notebooks "
                                     "(the same as `aecodec classroom build`).")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="folder to write them to")
    parser.add_argument("--notebooks", default=None, metavar="DIR",
                        help="the solution notebooks (default: the course's own)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite student notebooks changed since they were built")
    args = parser.parse_args(argv)
    try:
        written = build(args.out_dir, args.notebooks, overwrite=args.force)
    except AecodecError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for path, exercises in written.items():
        print(f"wrote {path} ({exercises} exercise{'' if exercises == 1 else 's'} to do)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
