"""The media codecs against real encoder output: ffmpeg + libx264 FLV, libx265 HEVC."""

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from livecast.media import aac, avc, flv, hevc, script, tags
from livecast.media.flv import FlvReader, FlvTag

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
pytestmark = pytest.mark.skipif(not Path(FFMPEG).exists(), reason="ffmpeg not installed")

SIZES = [(640, 360), (1280, 720), (854, 480)]


def run_ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-v", "error", "-y", *args], check=True, timeout=60)


@pytest.fixture(scope="module", params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def x264_flv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    width, height = request.param
    out = tmp_path_factory.mktemp("flv") / "out.flv"
    run_ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=30",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
        "-t", "1", "-threads", "1", "-c:v", "libx264", "-c:a", "aac", "-f", "flv", str(out),
    )  # fmt: skip
    return out.read_bytes()


def size_of(data: bytes) -> tuple[int, int]:
    first_video = next(t for t in flv.read_file_tags(data) if t.tag_type == flv.VIDEO)
    record = first_video.payload[tags.classify_video(first_video.payload).data_offset :]
    return avc.sps_dimensions(avc.parse_avc_decoder_config(record).sps[0])


def test_reader_reads_the_file_and_the_sequence_header_gives_the_size(x264_flv: bytes) -> None:
    all_tags = flv.read_file_tags(x264_flv)
    assert all_tags[0].tag_type == flv.SCRIPT and script.is_metadata(all_tags[0].payload)
    videos = [t for t in all_tags if t.tag_type == flv.VIDEO]
    assert len(videos) == 32  # sequence header + 30 frames + end of sequence
    assert tags.classify_video(videos[-1].payload).end_of_sequence

    first = tags.classify_video(videos[0].payload)
    assert first.codec == "avc" and first.sequence_header and first.keyframe
    config = avc.parse_avc_decoder_config(videos[0].payload[first.data_offset :])
    assert config.profile == 100 and config.nal_length_size == 4
    assert len(config.sps) == 1 and len(config.pps) == 1
    width, height = avc.sps_dimensions(config.sps[0])
    assert f"{width}x{height}" in ("640x360", "1280x720", "854x480")

    frame = tags.classify_video(videos[1].payload)
    assert frame.keyframe and not frame.sequence_header
    nal_types = [n[0] & 0x1F for n in avc.iter_nalus(videos[1].payload[5:], 4)]
    assert avc.NAL_IDR in nal_types
    annexb = avc.annexb_from_avcc(videos[1].payload[5:], 4)
    assert annexb.startswith(avc.START_CODE)
    assert avc.avcc_from_annexb(annexb) == videos[1].payload[5:]

    infos = [tags.classify_video(t.payload) for t in videos[1:-1]]
    assert sum(i.keyframe for i in infos) == 1  # one GOP in one second
    assert any(i.composition_time > 0 for i in infos)  # x264's B-frames


def test_sizes_match_the_encoder(x264_flv: bytes) -> None:
    header = FlvReader()
    header.feed(x264_flv[:13])
    assert header.header == flv.FlvHeader(1, True, True)
    meta = flv.read_file_tags(x264_flv)[0].payload
    width, height = size_of(x264_flv)
    # ffmpeg writes the same size into onMetaData as AMF0 numbers (marker 0, float64)
    assert b"width\x00" + struct.pack(">d", width) in meta
    assert b"height\x00" + struct.pack(">d", height) in meta


def test_audio_sequence_header_and_adts(x264_flv: bytes) -> None:
    audios = [t for t in flv.read_file_tags(x264_flv) if t.tag_type == flv.AUDIO]
    first = tags.classify_audio(audios[0].payload)
    assert first.codec == "aac" and first.sequence_header
    config = aac.parse_audio_specific_config(audios[0].payload[first.data_offset :])
    assert (config.object_type, config.sample_rate, config.channels) == (2, 44100, 1)
    raw = audios[1].payload[2:]
    assert not tags.classify_audio(audios[1].payload).sequence_header
    header = aac.adts_header(config, len(raw))
    frame_length = (header[3] & 3) << 11 | header[4] << 3 | header[5] >> 5
    assert header[:2] == b"\xff\xf1" and frame_length == len(raw) + 7


def test_reencoding_is_byte_identical(x264_flv: bytes) -> None:
    all_tags = flv.read_file_tags(x264_flv)
    rebuilt = flv.file_header(True, True) + b"".join(
        flv.encode_tag(t.tag_type, t.timestamp, t.payload) for t in all_tags
    )
    assert rebuilt == x264_flv


def test_reader_fed_in_odd_chunks_gives_the_same_tags(x264_flv: bytes) -> None:
    whole = flv.read_file_tags(x264_flv)
    reader = FlvReader(check_previous_tag_size=True)
    got: list[FlvTag] = []
    pos = 0
    step = 1
    while pos < len(x264_flv):
        got += reader.feed(x264_flv[pos : pos + step])
        pos += step
        step = step * 7 % 4093 + 1  # 1, 8, 57, 400, ... varied split points
    assert got == whole and reader.buffered == 0


def test_reader_fed_one_byte_at_a_time(x264_flv: bytes) -> None:
    if len(x264_flv) > 400_000:
        pytest.skip("byte-by-byte is covered on the smaller files")
    reader = FlvReader()
    got: list[FlvTag] = []
    for i in range(len(x264_flv)):
        got += reader.feed(x264_flv[i : i + 1])
    assert got == flv.read_file_tags(x264_flv)


@pytest.fixture(scope="module")
def x265_outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    out = tmp_path_factory.mktemp("hevc")
    common = ["-f", "lavfi", "-i", "testsrc2=size=854x480:rate=30", "-frames:v", "2"]
    x265 = ["-c:v", "libx265", "-x265-params", "log-level=error"]
    run_ffmpeg(*common, *x265, "-f", "hevc", str(out / "out.hevc"))
    run_ffmpeg(*common, *x265, "-f", "mp4", str(out / "out.mp4"))
    return (out / "out.hevc").read_bytes(), (out / "out.mp4").read_bytes()


def test_x265_sps_and_hvcc(x265_outputs: tuple[bytes, bytes]) -> None:
    annexb, mp4 = x265_outputs
    nals = avc.split_annexb(annexb)
    sps = next(n for n in nals if (n[0] >> 1) & 0x3F == hevc.NAL_SPS)
    assert hevc.hevc_sps_dimensions(sps) == (854, 480)

    at = mp4.index(b"hvcC")
    box_size = int.from_bytes(mp4[at - 4 : at], "big")
    record = mp4[at + 4 : at - 4 + box_size]
    config = hevc.parse_hevc_decoder_config(record)
    assert config.profile == 1 and config.nal_length_size == 4
    assert len(config.vps) == len(config.sps) == len(config.pps) == 1
    assert hevc.hevc_sps_dimensions(config.sps[0]) == (854, 480)

    # the same record as an Enhanced RTMP sequence start and as legacy codec id 12
    for payload in (b"\x90hvc1" + record, b"\x1c\x00\x00\x00\x00" + record):
        info = tags.classify_video(payload)
        assert info.codec == "hevc" and info.sequence_header
        assert hevc.parse_hevc_decoder_config(payload[info.data_offset :]) == config
