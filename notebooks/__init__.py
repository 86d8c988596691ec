"""The course notebooks. An installed aecodec carries them as the package
`aecodec.course.notebooks`, from which `aecodec classroom build` makes the student edition.
There is no code here: open the .ipynb files."""
