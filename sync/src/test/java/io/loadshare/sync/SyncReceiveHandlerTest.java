package io.loadshare.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.session.SessionState;
import io.loadshare.core.session.StandbySessions;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The receiving end of a sync link, fed frames built as a peer builds them: what authenticates is applied, and a
 * malformed, unauthenticated, replayed or foreign message is refused, counted and never applied.
 */
class SyncReceiveHandlerTest {
    private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final InetSocketAddress PEER = new InetSocketAddress("192.0.2.2", 7680);
    private static final int CLIENT = 0xCB00_7164;
    private static final int VIP = 0xC633_640A;
    private static final int BACKEND = 0xC000_020B;

    private SessionSync sync;
    private EmbeddedChannel link;
    private byte[] nonce;

    @BeforeEach
    void connect() {
        SyncSettings settings = new SyncSettings(true, new InetSocketAddress("192.0.2.1", 7680), List.of(PEER), KEY,
                Duration.ofMillis(20), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(1), 1000, 64,
                null);
        sync = SessionSync.prepare(settings, List.of(), List::of, CoreSettings.defaults().session(),
                Duration.ofMinutes(1));
        link = from(PEER);
        ByteBuf challenge = link.readOutbound();
        assertEquals(4 + 4 + SyncProtocol.NONCE_BYTES, challenge.readableBytes());
        assertEquals(SyncProtocol.CHALLENGE, challenge.getUnsignedByte(5));
        nonce = new byte[SyncProtocol.NONCE_BYTES];
        challenge.getBytes(8, nonce);
        challenge.release();
    }

    private EmbeddedChannel from(InetSocketAddress remote) {
        EmbeddedChannel channel = new EmbeddedChannel(false, false) {
            @Override
            protected SocketAddress remoteAddress0() {
                return remote;
            }
        };
        channel.pipeline().addLast(SessionSync.frames(), new SyncReceiveHandler(sync, new SyncProtocol.Signer(KEY)));
        try {
            channel.register();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        return channel;
    }

    private static ByteBuf oneSession(int clientPort) {
        ByteBuf payload = Unpooled.buffer();
        payload.writeInt(1);
        payload.writeByte(JournalRing.CHANGED).writeByte(IpProtocol.TCP).writeByte(SessionState.ESTABLISHED)
                .writeByte(0);
        payload.writeInt(CLIENT).writeInt(VIP).writeShort(clientPort).writeShort(80);
        payload.writeInt(BACKEND).writeShort(0).writeShort(0x0200).writeInt(0x0000_0001).writeInt(0);
        return payload;
    }

    private ByteBuf frame(byte[] key, int type, long sequence, ByteBuf payload) {
        ByteBuf frame = new SyncProtocol.Signer(key).frame(nonce, type, sequence, payload);
        payload.release();
        return frame;
    }

    private boolean holds(int clientPort) {
        return sync.standby().find(IpProtocol.TCP, CLIENT, clientPort, VIP, 80, new StandbySessions.Entry());
    }

    private long refused(SyncRefusal reason) {
        return sync.status().refused().get(reason.label());
    }

    @Test
    void anAuthenticatedPeerFillsTheStandbyStore() {
        link.writeInbound(frame(KEY, SyncProtocol.HELLO, 1, Unpooled.buffer(2).writeShort(0)));
        link.writeInbound(frame(KEY, SyncProtocol.SESSIONS, 2, oneSession(40000)));
        link.writeInbound(frame(KEY, SyncProtocol.BULK_DONE, 3, Unpooled.buffer(0)));
        assertTrue(holds(40000));
        StandbySessions.Entry entry = new StandbySessions.Entry();
        sync.standby().find(IpProtocol.TCP, CLIENT, 40000, VIP, 80, entry);
        assertEquals(BACKEND, entry.backendAddress());
        assertEquals(0x0200_0000_0001L, entry.lastHop());
        SyncStatus.Peer peer = sync.status().peers().getFirst();
        assertTrue(peer.synced());
        assertEquals(1, peer.sessionsReceived());
        assertTrue(link.isActive());
        assertFalse(link.finish());
    }

    @Test
    void aMessageUnderAnotherKeyIsRefusedAndCloses() {
        byte[] other = KEY.clone();
        other[0] ^= 1;
        link.writeInbound(frame(other, SyncProtocol.SESSIONS, 1, oneSession(40000)));
        assertFalse(holds(40000));
        assertEquals(1, refused(SyncRefusal.UNAUTHENTICATED));
        assertFalse(link.isActive());
    }

    @Test
    void anAlteredMessageIsRefused() {
        ByteBuf frame = frame(KEY, SyncProtocol.SESSIONS, 1, oneSession(40000));
        frame.setByte(4 + SyncProtocol.HEADER_BYTES + 4 + 16, 0x7F);
        link.writeInbound(frame);
        assertEquals(0, sync.standby().size());
        assertEquals(1, refused(SyncRefusal.UNAUTHENTICATED));
    }

    @Test
    void aRepeatedMessageIsRefused() {
        ByteBuf first = frame(KEY, SyncProtocol.SESSIONS, 1, oneSession(40000));
        ByteBuf copy = first.copy();
        link.writeInbound(first);
        assertTrue(holds(40000));
        sync.standby().remove(IpProtocol.TCP, CLIENT, 40000, VIP, 80);
        link.writeInbound(copy);
        assertFalse(holds(40000), "the replay was not applied");
        assertEquals(1, refused(SyncRefusal.REPLAYED));
        assertFalse(link.isActive());
    }

    @Test
    void aMessageRecordedOnAnotherLinkIsRefused() {
        ByteBuf recorded = frame(KEY, SyncProtocol.SESSIONS, 1, oneSession(40000));
        EmbeddedChannel next = from(PEER);
        ((ByteBuf) next.readOutbound()).release();
        next.writeInbound(recorded);
        assertFalse(holds(40000));
        assertEquals(1, refused(SyncRefusal.UNAUTHENTICATED), "the nonce differs on each link");
    }

    @Test
    void aCutRecordIsMalformedAndNothingOfItsMessageApplies() {
        ByteBuf payload = Unpooled.buffer();
        payload.writeInt(2);
        ByteBuf whole = oneSession(40000);
        payload.writeBytes(whole, 4, whole.readableBytes() - 4);
        whole.release();
        payload.writeBytes(new byte[10]);
        link.writeInbound(frame(KEY, SyncProtocol.SESSIONS, 1, payload));
        assertFalse(holds(40000), "the good record of a malformed message is not applied either");
        assertEquals(1, refused(SyncRefusal.MALFORMED));
    }

    @Test
    void anotherVersionIsRefused() {
        ByteBuf frame = frame(KEY, SyncProtocol.SESSIONS, 1, oneSession(40000));
        frame.setByte(4, 2);
        link.writeInbound(frame);
        assertFalse(holds(40000));
        assertEquals(1, refused(SyncRefusal.VERSION));
    }

    @Test
    void aStrangerGetsNoChallenge() {
        EmbeddedChannel stranger = from(new InetSocketAddress("192.0.2.99", 40000));
        assertNull(stranger.readOutbound());
        assertFalse(stranger.isActive());
        assertEquals(1, refused(SyncRefusal.UNKNOWN_PEER));
    }
}
