"""gunicorn settings for the floor: sync workers like Folio's, and nothing else.

Given with -c so gunicorn does not read Folio's gunicorn.conf.py from the cwd.
"""

worker_class = "sync"
control_socket_disable = True
