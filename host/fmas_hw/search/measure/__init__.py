"""The measurement side of a search: what gets measured and when (:mod:`.strategy`, built by
:mod:`.choose`), the measurement workers (local :mod:`.pool` or a Dask cluster's
:mod:`.dask_pool`, running :mod:`.measurer`), the estimate they teach (:mod:`.learner`), the
measurements made ahead (:mod:`.ahead`) and the choice of what to measure under ``--measure
front`` (:mod:`.front`).
"""
