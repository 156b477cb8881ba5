"""What a music file is: its format by suffix and by parser, its codec, and its stream values.

The suffix table decides what a scan catalogs; mutagen's class decides what the file turned
out to be, refined by what its stream info says (an MP4 holds AAC, ALAC or FairPlay DRM; a
WAV may hold PCM, ADPCM or MP3). Stream values come from headers, so hostile ones are dropped
rather than stored.
"""

from __future__ import annotations

import math
from typing import Any

import mutagen

__all__ = ["AUDIO_EXTENSIONS", "SUFFIX_FORMATS", "kind", "stream_fields"]

# suffix -> format name, for every format mutagen reads and we catalog. .m4p (FairPlay DRM),
# video (.m4v, .ogv, .wmv) and MIDI (nothing to decode-check) are deliberately absent.
SUFFIX_FORMATS: dict[str, str] = {
    ".flac": "FLAC", ".mp3": "MP3", ".mp2": "MP2", ".mp1": "MP1", ".ogg": "Ogg Vorbis",
    ".oga": "Ogg Vorbis", ".opus": "Opus", ".spx": "Speex", ".m4a": "MP4", ".m4b": "MP4",
    ".mp4": "MP4", ".m4r": "MP4", ".3gp": "MP4", ".aac": "AAC (ADTS)", ".adts": "AAC (ADTS)",
    ".wav": "WAV", ".aif": "AIFF", ".aiff": "AIFF", ".aifc": "AIFF", ".wv": "WavPack",
    ".ape": "APE", ".mpc": "Musepack", ".mp+": "Musepack", ".mpp": "Musepack", ".dsf": "DSF",
    ".dff": "DFF", ".wma": "WMA", ".asf": "WMA", ".tta": "TrueAudio", ".ofr": "OptimFROG",
    ".ofs": "OptimFROG", ".tak": "TAK", ".ac3": "AC-3", ".eac3": "E-AC-3",
}  # fmt: skip
AUDIO_EXTENSIONS: frozenset[str] = frozenset(SUFFIX_FORMATS)

# mutagen class name -> (format, codec); MP4, ASF, MP3, WAVE, AC3 and DSDIFF refine the codec.
_KINDS: dict[str, tuple[str, str]] = {
    "FLAC": ("FLAC", "flac"), "MP3": ("MP3", "mp3"), "OggVorbis": ("Ogg Vorbis", "vorbis"),
    "OggOpus": ("Opus", "opus"), "OggFLAC": ("Ogg FLAC", "flac"), "OggSpeex": ("Speex", "speex"),
    "OggTheora": ("Ogg Theora", "theora"), "MP4": ("MP4", "aac"), "WAVE": ("WAV", "pcm"),
    "AIFF": ("AIFF", "pcm"), "WavPack": ("WavPack", "wavpack"), "MonkeysAudio": ("APE", "ape"),
    "Musepack": ("Musepack", "musepack"), "DSF": ("DSF", "dsd"), "DSDIFF": ("DFF", "dsd"),
    "ASF": ("WMA", "wma"), "TrueAudio": ("TrueAudio", "tta"), "TAK": ("TAK", "tak"),
    "OptimFROG": ("OptimFROG", "optimfrog"), "AAC": ("AAC (ADTS)", "aac"),
    "AC3": ("AC-3", "ac3"), "SMF": ("MIDI", "midi"),
}  # fmt: skip
_LOSSY = frozenset({"mp1", "mp2", "mp3", "aac", "vorbis", "opus", "speex", "wma", "wmapro",
                    "wmavoice", "musepack", "ac3", "eac3", "drm"})  # fmt: skip
_MP4_CODECS = {"alac": "alac", "ac-3": "ac3", "ec-3": "eac3", "flac": "flac", "opus": "opus",
               "mp4a.69": "mp3", "mp4a.6b": "mp3",
               "drms": "drm", "drmi": "drm", "enca": "drm"}  # fmt: skip
_WAV_CODECS = {1: "pcm", 3: "pcm", 0xFFFE: "pcm", 2: "adpcm", 0x11: "adpcm", 6: "alaw",
               7: "mulaw", 0x55: "mp3", 0x50: "mp2"}  # fmt: skip

_MAX_INT = 2**62  # stream values beyond this come from hostile headers


def kind(f: mutagen.FileType) -> tuple[str, str]:
    """(format for people, codec) of what mutagen parsed."""
    cls = type(f).__name__
    fmt, codec = _KINDS.get(cls, (cls, cls.lower()))
    info: Any = f.info
    if cls == "MP4":
        raw = str(getattr(info, "codec", "") or "").lower()
        codec = "aac" if raw.startswith("mp4a.40") else _MP4_CODECS.get(raw, raw or "unknown")
    elif cls == "MP3" and getattr(info, "layer", 3) in (1, 2):
        fmt, codec = f"MP{info.layer}", f"mp{info.layer}"
    elif cls == "WAVE":
        tag = getattr(info, "audio_format", 1)
        codec = _WAV_CODECS.get(tag, f"wav-0x{tag:04x}")
    elif cls == "AC3" and getattr(info, "codec", "") == "ec-3":
        fmt, codec = "E-AC-3", "eac3"
    elif cls == "DSDIFF" and getattr(info, "compression", "DSD") == "DST":
        codec = "dst"
    elif cls == "ASF":
        words = str(getattr(info, "codec_name", "")).lower()
        codec = next((c for w, c in (("lossless", "wmalossless"), ("pro", "wmapro"),
                                     ("voice", "wmavoice")) if w in words), "wma")  # fmt: skip
    return fmt, codec


def stream_fields(info: object, codec: str) -> dict[str, Any]:
    """TrackInfo's stream fields from mutagen's stream info; nonsense values become None."""
    rate = 48000 if codec == "opus" else _int(getattr(info, "sample_rate", None))
    return {
        "duration": _duration(getattr(info, "length", None)),
        "sample_rate": rate,
        "bit_depth": None if codec in _LOSSY else _int(getattr(info, "bits_per_sample", None)),
        "channels": _int(getattr(info, "channels", None)),
        "bitrate": _int(getattr(info, "bitrate", None)),
    }


def _int(value: object) -> int | None:
    if isinstance(value, int | float) and 0 < value < _MAX_INT and math.isfinite(value):
        return int(value)
    return None


def _duration(value: object) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
        return float(value)
    return None
