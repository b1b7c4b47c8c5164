"""One file per page, each with one ``render()`` function (registered in ``dashboard/app.py``)."""
