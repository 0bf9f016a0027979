"""rosbag2 tools without a ROS install: synthetic drives as bags, offline replay and scoring.

Needs the `rosbags` package; importing this package without it raises a one-line ConfigError.
"""

try:
    import rosbags  # noqa: F401
except ImportError:
    from ..errors import ConfigError

    raise ConfigError(
        "the bag tools need the rosbags package: pip install 'rosbags>=0.11'"
    ) from None
