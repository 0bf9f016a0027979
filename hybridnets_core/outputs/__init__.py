"""The one output layer: a frame result plus output settings -> the node's messages.

`FrameOutputs` builds every published output once, through a `MessageFactory`, so the live node
(rclpy messages) and the bag tools (rosbags messages) publish and record exactly the same.
"""
