"""No cookie sessions.

Folio authenticates every request by its bearer token and keeps no state in
cookies, so Flask's signed-cookie session had nothing to do but cost a key
derivation and a cookie parse on every request. Its null session refuses
writes, so code that tried to use one would fail loudly.
"""

from flask.sessions import SessionInterface


class NoSessions(SessionInterface):
    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response):
        pass
