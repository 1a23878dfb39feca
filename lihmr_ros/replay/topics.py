"""Which topics of a bag are the camera: chosen from the command line or found by message type.

A bag recorded by ``lihmr demo`` holds two image topics (the camera and the
node's ``overlay``), and robots often record several cameras, so a guess is
made only when it is unambiguous; otherwise the error lists the candidates
and names the option that picks one.
"""

from __future__ import annotations

from dataclasses import dataclass
from posixpath import dirname

IMAGE_TYPES: dict[str, bool] = {"sensor_msgs/msg/Image": False, "sensor_msgs/msg/CompressedImage": True}
"""Image message types and whether they are compressed."""
CAMERA_INFO_TYPE = "sensor_msgs/msg/CameraInfo"
OUTPUT_IMAGE_NAME = "overlay"
"""Last name segment of our own output image topic, never taken for the camera."""


class ReplayTopicError(ValueError):
    """The bag's topics do not say which camera to process; the message says which option fixes it."""


@dataclass(frozen=True)
class ReplayTopics:
    """The camera topics of one replay."""

    image: str
    compressed: bool
    camera_info: str | None
    """``None`` when the bag has no camera_info for this camera."""


def choose_topics(
    topics: dict[str, str], image_topic: str | None = None, camera_info_topic: str | None = None
) -> ReplayTopics:
    """Pick the image and camera_info topics from ``topics`` (name -> message type)."""
    candidates = _camera_image_topics(topics)
    if image_topic is None:
        if len(candidates) != 1:
            found = ", ".join(candidates) if candidates else "none"
            raise ReplayTopicError(
                f"cannot tell which topic is the camera (image topics: {found}); choose one with --image-topic"
            )
        image_topic = candidates[0]
    if image_topic not in topics:
        raise ReplayTopicError(f"image topic {image_topic} is not in the bag; its topics: {', '.join(sorted(topics))}")
    if topics[image_topic] not in IMAGE_TYPES:
        raise ReplayTopicError(
            f"{image_topic} carries {topics[image_topic]}, not sensor_msgs/msg/Image or CompressedImage"
        )
    compressed = IMAGE_TYPES[topics[image_topic]]
    if camera_info_topic is None:
        camera_info_topic = _camera_info_beside(image_topic, compressed, topics)
    elif topics.get(camera_info_topic) != CAMERA_INFO_TYPE:
        raise ReplayTopicError(f"{camera_info_topic} is not a {CAMERA_INFO_TYPE} topic of the bag")
    return ReplayTopics(image=image_topic, compressed=compressed, camera_info=camera_info_topic)


def _camera_image_topics(topics: dict[str, str]) -> list[str]:
    return sorted(
        name for name, msgtype in topics.items()
        if msgtype in IMAGE_TYPES and name.rsplit("/", 1)[-1] != OUTPUT_IMAGE_NAME
    )


def _camera_info_beside(image_topic: str, compressed: bool, topics: dict[str, str]) -> str | None:
    """``camera_info`` in the camera's namespace (image_transport's convention).

    Otherwise the bag's only CameraInfo topic, but only when the bag has a
    single camera: with several, another camera's calibration would be used.
    """
    camera_namespace = dirname(dirname(image_topic) if compressed else image_topic)
    beside = f"{camera_namespace.rstrip('/')}/camera_info"
    if topics.get(beside) == CAMERA_INFO_TYPE:
        return beside
    all_camera_infos = [name for name, msgtype in topics.items() if msgtype == CAMERA_INFO_TYPE]
    single_camera = len(_camera_image_topics(topics)) == 1
    return all_camera_infos[0] if single_camera and len(all_camera_infos) == 1 else None
