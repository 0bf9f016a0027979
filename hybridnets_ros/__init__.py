"""hybridnets_ros: the ROS 2 node that serves hybridnets_core perception to a vehicle."""
