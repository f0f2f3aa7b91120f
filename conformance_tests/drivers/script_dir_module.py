"""Imported by a driver script from its own directory; used by remote tasks.

Ray puts the driver's script directory on the workers' import path, so a task
whose function lives here runs without any runtime_env.
"""


def triple(x):
    return 3 * x
