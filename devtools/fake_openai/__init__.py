"""The fake OpenAI upstream (a real HTTP server) shared by the tests and the local stack's offline mode."""

from devtools.fake_openai.server import FakeOpenAI, RecordedRequest

__all__ = ["FakeOpenAI", "RecordedRequest"]
