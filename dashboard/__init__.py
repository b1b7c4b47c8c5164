"""CallPulse dashboard: the wall board and the manager's views (Streamlit).

``app.py`` is the entry point (``streamlit run dashboard/app.py``); ``data.py`` is the only module
that reads Redis; ``fmt.py`` formats values for people; ``i18n.py`` holds every label in zh and en;
``wall.py`` renders the wall board as one HTML block; ``views/`` holds one file per manager page.
"""
