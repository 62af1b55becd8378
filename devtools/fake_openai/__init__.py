"""The fake OpenAI upstream (a real HTTP server) shared by the tests and the local stack's offline mode."""

from devtools.fake_openai.server import FakeOpenAI
from devtools.fake_openai.state import RecordedRequest

__all__ = ["FakeOpenAI", "RecordedRequest"]
