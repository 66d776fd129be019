"""mediagraph's private protobuf descriptor pool and the config message classes.

Everything lives in a pool of our own, never protobuf's default pool, so importing
Google's `mediapipe` package (which registers the same `mediapipe.*` names) in the
same process cannot clash. Option messages declared in Python are added here at
import time (see `mediagraph.options`).
"""

from __future__ import annotations

import base64
import threading
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

from mediagraph.config._descriptors import FILE_DESCRIPTOR_SET_B64

POOL = descriptor_pool.DescriptorPool()
_lock = threading.Lock()

for _file in descriptor_pb2.FileDescriptorSet.FromString(
        base64.b64decode(FILE_DESCRIPTOR_SET_B64)).file:
    POOL.Add(_file)


def message_class(full_name: str) -> type[Message]:
    """The message class for `full_name` (e.g. "mediapipe.CalculatorGraphConfig")."""
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(full_name))


def add_file(file_proto: descriptor_pb2.FileDescriptorProto) -> None:
    with _lock:
        POOL.Add(file_proto)


def find_message(full_name: str) -> Any | None:
    """The descriptor of `full_name`, or None when the pool does not hold it."""
    try:
        return POOL.FindMessageTypeByName(full_name)
    except KeyError:
        return None


def find_extension(full_name: str) -> Any | None:
    try:
        return POOL.FindExtensionByName(full_name)
    except KeyError:
        return None


CalculatorGraphConfig = message_class("mediapipe.CalculatorGraphConfig")
Node = CalculatorGraphConfig.Node
CalculatorOptions = message_class("mediapipe.CalculatorOptions")
MediaPipeOptions = message_class("mediapipe.MediaPipeOptions")
ExecutorConfig = message_class("mediapipe.ExecutorConfig")
InputStreamInfo = message_class("mediapipe.InputStreamInfo")
InputStreamHandlerConfig = message_class("mediapipe.InputStreamHandlerConfig")
ProfilerConfig = message_class("mediapipe.ProfilerConfig")
ThreadPoolExecutorOptions = message_class("mediapipe.ThreadPoolExecutorOptions")
FixedSizeInputStreamHandlerOptions = message_class("mediapipe.FixedSizeInputStreamHandlerOptions")
SyncSetInputStreamHandlerOptions = message_class("mediapipe.SyncSetInputStreamHandlerOptions")
DefaultInputStreamHandlerOptions = message_class("mediapipe.DefaultInputStreamHandlerOptions")
