from tests.ideas.factories import *  # noqa: F403
