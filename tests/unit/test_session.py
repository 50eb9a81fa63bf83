"""ServerSession and ClientSession talking to each other in memory, with no sockets."""

from __future__ import annotations

import pytest

from livecast.rtmp import amf0
from livecast.rtmp import commands as cmds
from livecast.rtmp import events as ev
from livecast.rtmp import messages as msg
from livecast.rtmp.chunk import ChunkReader, ChunkWriter
from livecast.rtmp.errors import ProtocolError
from livecast.rtmp.handshake import ClientHandshake
from livecast.rtmp.session import ClientSession, ConnState, ServerSession

RANDOM = bytes(range(256)) * 16


def pump(client: ClientSession, server: ServerSession) -> tuple[list[ev.Event], list[ev.Event]]:
    """Move bytes both ways until both sides are quiet; returns (client, server) events."""
    c_events: list[ev.Event] = []
    s_events: list[ev.Event] = []
    for _ in range(50):
        c_out = client.data_to_send()
        if c_out:
            events = server.receive_data(c_out)
            while events:
                for e in events:
                    s_events.append(e)
                    react(server, e)
                events = server.receive_data(b"") if server.held else []
        s_out = server.data_to_send()
        if s_out:
            c_events.extend(client.receive_data(s_out))
        if not c_out and not s_out:
            return c_events, s_events
    raise AssertionError("sessions never went quiet")


def react(server: ServerSession, e: ev.Event) -> None:
    """What the glue does: accept everything."""
    if isinstance(e, ev.ConnectRequest):
        server.accept_connect(e)
    elif isinstance(e, ev.PublishRequest):
        server.accept_publish(e)
    elif isinstance(e, ev.PlayRequest):
        server.accept_play(e)


def connected_pair(digest: bool = True) -> tuple[ClientSession, ServerSession, list[ev.Event]]:
    client = ClientSession(random_bytes=RANDOM, digest=digest)
    server = ServerSession(random_bytes=RANDOM[::-1])
    client.initiate()
    client.connect("live", "rtmp://127.0.0.1/live")
    c_events, s_events = pump(client, server)
    assert any(isinstance(e, ev.ConnectRequest) and e.app == "live" for e in s_events)
    return client, server, c_events


@pytest.mark.parametrize("digest", [True, False])
def test_connect_result_carries_what_clients_expect(digest: bool) -> None:
    client, server, c_events = connected_pair(digest)
    results = [e for e in c_events if isinstance(e, ev.ConnectResult)]
    assert len(results) == 1 and results[0].ok
    assert results[0].info["code"] == "NetConnection.Connect.Success"
    assert results[0].properties["fmsVer"] == cmds.FMS_VERSION
    assert results[0].properties["capabilities"] == 31.0
    assert server.state is ConnState.CONNECTED
    assert client.connected
    # the server announced its window and chunk size before _result
    assert client.peer_window_ack_size == 2_500_000
    assert server.out_chunk_size == 4096


def test_publish_media_play_through_two_sessions() -> None:
    pub, pub_server, _ = connected_pair()
    tid = pub.create_stream()
    c_events, s_events = pump(pub, pub_server)
    created = [e for e in c_events if isinstance(e, ev.StreamCreated)]
    assert created == [ev.StreamCreated(1, tid)]
    pub.publish(1, "cam?key=secret")
    c_events, s_events = pump(pub, pub_server)
    assert [e for e in s_events if isinstance(e, ev.PublishRequest)] == [
        ev.PublishRequest(1, "cam", "key=secret", "live", 0.0)
    ]
    statuses = [e.code for e in c_events if isinstance(e, ev.Status)]
    assert statuses == ["NetStream.Publish.Start"]

    # media: the server session turns publisher chunks back into identical messages
    sent = [
        (8, 0, b"\xaf\x00\x12\x10"),
        (9, 0, b"\x17\x00\x00\x00\x00" + bytes(9000)),
        (9, 33, b"\x27\x01\x00\x00\x00" + bytes(5000)),
        (8, 23, b"\xaf\x01" + bytes(300)),
        (18, 40, amf0.encode("onTextData", {"text": "hi"})),
    ]
    for type_id, ts, payload in sent:
        pub.send_media(1, type_id, ts, payload)
    _, s_events = pump(pub, pub_server)
    media = [(e.type_id, e.timestamp, e.payload) for e in s_events if isinstance(e, ev.Media)]
    assert media == sent

    # a player on another connection; the server relays what it got
    player, play_server, _ = connected_pair(digest=False)
    player.create_stream()
    pump(player, play_server)
    player.play(1, "cam")
    c_events, s_events = pump(player, play_server)
    assert next(e for e in s_events if isinstance(e, ev.PlayRequest)).name == "cam"
    codes = [e.code for e in c_events if isinstance(e, ev.Status)]
    assert codes == ["NetStream.Play.Reset", "NetStream.Play.Start"]
    assert ev.StreamControl("begin", 1) in c_events
    for type_id, ts, payload in media:
        play_server.send_message(1, type_id, ts, payload)
    c_events, _ = pump(player, play_server)
    got = [(e.type_id, e.timestamp, e.payload) for e in c_events if isinstance(e, ev.Media)]
    assert got == media


def test_one_connection_publishes_and_plays_on_different_stream_ids() -> None:
    client, server, _ = connected_pair()
    for _ in range(3):
        client.create_stream()
    c_events, _ = pump(client, server)
    ids = [e.stream_id for e in c_events if isinstance(e, ev.StreamCreated)]
    assert ids == [1, 2, 3]
    client.publish(1, "x")
    client.play(2, "y")
    client.play(3, "z")
    c_events, s_events = pump(client, server)
    assert [type(e).__name__ for e in s_events] == ["PublishRequest", "PlayRequest", "PlayRequest"]
    by_stream = {(e.stream_id, e.code) for e in c_events if isinstance(e, ev.Status)}
    assert (1, "NetStream.Publish.Start") in by_stream
    assert (2, "NetStream.Play.Start") in by_stream and (3, "NetStream.Play.Start") in by_stream
    # media flows out on 2 and 3 while the same connection publishes on 1
    client.send_media(1, 9, 0, b"\x17\x01\x00\x00\x00abc")
    server.send_message(2, 9, 5, b"\x17\x01\x00\x00\x00y")
    server.send_message(3, 8, 6, b"\xaf\x01z")
    c_events, s_events = pump(client, server)
    assert [(e.stream_id, e.payload) for e in s_events if isinstance(e, ev.Media)] == [
        (1, b"\x17\x01\x00\x00\x00abc")
    ]
    got = {(e.stream_id, e.payload) for e in c_events if isinstance(e, ev.Media)}
    assert {(2, b"\x17\x01\x00\x00\x00y"), (3, b"\xaf\x01z")} <= got


def test_stream_commands_delete_close_pause_receive() -> None:
    client, server, _ = connected_pair()
    client.create_stream()
    client.create_stream()
    pump(client, server)
    client.play(1, "a")
    client.publish(2, "b")
    pump(client, server)
    client.receive_media(1, "video", False)
    client.pause(1, True, 1500.0)
    client.pause(1, False, 1500.0)
    client.close_stream(2)
    client.delete_stream(1)
    c_events, s_events = pump(client, server)
    assert s_events == [
        ev.ReceiveMedia(1, "video", False),
        ev.Pause(1, True, 1500.0),
        ev.Pause(1, False, 1500.0),
        ev.DeleteStream(2, "closeStream"),
        ev.DeleteStream(1, "deleteStream"),
    ]
    codes = [e.code for e in c_events if isinstance(e, ev.Status)]
    assert codes == ["NetStream.Pause.Notify", "NetStream.Unpause.Notify"]
    assert list(server.streams) == [2]


def test_media_before_publish_is_dropped_and_unknown_call_gets_error() -> None:
    client, server, _ = connected_pair()
    client.create_stream()
    pump(client, server)
    client.send_media(1, 9, 0, b"\x17\x01")
    client._queue_command(0, cmds.Command("noSuchCall", 7.0, None).encode())
    c_events, s_events = pump(client, server)
    assert s_events == [ev.UnknownCommand(0, "noSuchCall", 7.0)]
    errors = [e for e in c_events if isinstance(e, ev.CommandResult)]
    assert errors and not errors[0].ok
    info = errors[0].values[0]
    assert isinstance(info, dict) and info["code"] == "NetConnection.Call.Failed"


def test_publish_on_a_stream_never_created_gets_an_error_status() -> None:
    client, server, _ = connected_pair()
    client.publish(5, "x")
    c_events, s_events = pump(client, server)
    assert s_events == []
    assert [(e.stream_id, e.level, e.code) for e in c_events if isinstance(e, ev.Status)] == [
        (5, "error", "NetStream.Failed")
    ]


def test_create_stream_limit() -> None:
    client = ClientSession(random_bytes=RANDOM)
    server = ServerSession(random_bytes=RANDOM, max_streams=2)
    client.initiate()
    client.connect("live", "rtmp://h/live")
    pump(client, server)
    for _ in range(3):
        client.create_stream()
    c_events, _ = pump(client, server)
    assert [e.stream_id for e in c_events if isinstance(e, ev.StreamCreated)] == [1, 2]
    assert [e.ok for e in c_events if isinstance(e, ev.CommandResult)] == [False]


def test_reject_connect_and_publish() -> None:
    client = ClientSession(random_bytes=RANDOM)
    server = ServerSession(random_bytes=RANDOM)
    client.initiate()
    client.connect("nope", "rtmp://h/nope")
    client_out = client.data_to_send()
    server.receive_data(client_out)
    c_events = client.receive_data(server.data_to_send())
    s_events = server.receive_data(client.data_to_send())
    (req,) = s_events
    assert isinstance(req, ev.ConnectRequest)
    server.reject_connect(req, "unknown application 'nope'")
    c_events = client.receive_data(server.data_to_send())
    (res,) = [e for e in c_events if isinstance(e, ev.ConnectResult)]
    assert not res.ok and res.info["code"] == "NetConnection.Connect.Rejected"

    client, server, _ = connected_pair()
    client.create_stream()
    pump(client, server)
    client.publish(1, "taken")
    out = client.data_to_send()
    (preq,) = server.receive_data(out)
    assert isinstance(preq, ev.PublishRequest)
    server.reject_publish(preq, "live/taken is already being published.")
    c_events = client.receive_data(server.data_to_send())
    assert [(e.level, e.code) for e in c_events if isinstance(e, ev.Status)] == [
        ("error", "NetStream.Publish.BadName")
    ]


def test_server_acknowledges_when_the_client_window_is_reached() -> None:
    # Set Peer Bandwidth 10000 → the client answers Window Ack Size 10000 → the server
    # must acknowledge every 10000 bytes it receives.
    client = ClientSession(random_bytes=RANDOM)
    server = ServerSession(random_bytes=RANDOM, peer_bandwidth=10_000)
    client.initiate()
    client.connect("live", "rtmp://h/live")
    pump(client, server)
    client.create_stream()
    client.publish(1, "w")
    pump(client, server)
    before = client.last_ack_received
    for i in range(10):
        client.send_media(1, 9, i * 33, b"\x27\x01\x00\x00\x00" + bytes(4000))
    pump(client, server)
    assert server.peer_window_ack_size == 10_000
    assert client.last_ack_received > before + 30_000
    assert client.last_ack_received <= server.bytes_received


def test_ping_request_is_answered() -> None:
    client, server, _ = connected_pair()
    writer = ChunkWriter()
    ping = msg.PingRequest(12345)
    server._out.append(writer.write(2, 4, 0, 0, ping.encode()))
    client.receive_data(server.data_to_send())
    reader = ChunkReader()
    raws = reader.feed(client.data_to_send())
    answers = [msg.decode_control(r.type_id, r.payload) for r in raws if r.type_id == 4]
    assert msg.PingResponse(12345) in answers


def test_amf3_command_message_type_17() -> None:
    client, server, _ = connected_pair()
    payload = b"\x00" + cmds.CreateStream(9.0).encode()
    client._out.append(client._writer.write(3, 17, 0, 0, payload))
    _c_events, s_events = pump(client, server)
    assert s_events == [ev.StreamCreated(1, 9.0)]


def test_command_before_connect_is_a_protocol_error() -> None:
    hs = ClientHandshake(RANDOM, digest=False)
    server = ServerSession(random_bytes=RANDOM)
    server.receive_data(hs.initiate())
    c2 = hs.receive_data(server.data_to_send())
    writer = ChunkWriter()
    bad = writer.write(3, 20, 0, 0, cmds.CreateStream(2.0).encode())
    with pytest.raises(ProtocolError, match="before connect"):
        server.receive_data(c2 + bad)


def test_garbage_after_handshake_raises_only_protocol_error() -> None:
    hs = ClientHandshake(RANDOM, digest=False)
    server = ServerSession(random_bytes=RANDOM)
    server.receive_data(hs.initiate())
    c2 = hs.receive_data(server.data_to_send())
    server.receive_data(c2)
    # fmt 1 header on a chunk stream that never had fmt 0
    with pytest.raises(ProtocolError):
        server.receive_data(b"\x43\x00\x00\x00\x00\x00\x05\x14hello")


def test_commands_pipelined_behind_connect_are_answered_after_it() -> None:
    client = ClientSession(random_bytes=RANDOM, digest=False)
    server = ServerSession(random_bytes=RANDOM)
    client.initiate()
    client.connect("live", "rtmp://h/live")
    client.create_stream()
    client.play(1, "x")
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    events = server.receive_data(client.data_to_send())  # C2 + connect + createStream + play
    assert [type(e) for e in events] == [ev.ConnectRequest]
    assert not server.held  # nothing to do until connect is answered
    (connect,) = events
    assert isinstance(connect, ev.ConnectRequest)
    server.accept_connect(connect)
    assert server.held
    events = server.receive_data(b"")
    assert [type(e) for e in events] == [ev.StreamCreated, ev.PlayRequest]
    c_events = client.receive_data(server.data_to_send())
    kinds = [type(e) for e in c_events if not isinstance(e, ev.StreamControl)]
    assert kinds == [ev.ConnectResult, ev.StreamCreated]
