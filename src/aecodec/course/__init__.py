"""The course's helpers, apart from the codec library: `exercises` (the notebooks' exercise
checks), `classroom` (the student edition of the notebooks) and `notebooks` (running them
in place, for maintainers)."""
