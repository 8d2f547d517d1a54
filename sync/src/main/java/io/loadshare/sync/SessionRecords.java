package io.loadshare.sync;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.pipeline.SourceNatAddresses;
import io.loadshare.core.session.PersistenceTemplates;
import io.loadshare.core.session.SessionTable;
import io.loadshare.core.session.StandbySessions;
import io.netty.buffer.ByteBuf;
import java.util.List;

/**
 * The session records of a {@code SESSIONS} message and of the hand-over file: a count, then records. Backends
 * travel by address (ids are each process's own); a service is named by the flow's cluster address, port and
 * protocol.
 *
 * <pre>
 * u32 count, then count records:
 *   u8 kind (1 changed, 2 closed) | u8 protocol | u8 state | u8 0
 *   u32 client address | u32 cluster address | u16 client port | u16 cluster port       (closed: 16 bytes)
 *   u32 backend address | u16 NAT port | 6 bytes client's last-hop MAC | u32 source-NAT address (changed: 32)
 * a persistence template (kind 3), 24 bytes:
 *   u8 3 | u8 the service's protocol | u16 0 | u32 client network | u32 cluster address | u16 0 | u16 cluster port
 *   u32 backend address | u32 lifetime left, milliseconds
 * </pre>
 */
final class SessionRecords {
    static final int CLOSED_BYTES = 16;
    static final int CHANGED_BYTES = 32;
    static final int TEMPLATE_BYTES = 24;

    private SessionRecords() {
    }

    /** Thrown for a payload that does not parse: nothing of it is applied. */
    static final class MalformedException extends Exception {
        MalformedException(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Appends one record from a journal's four words; a change whose backend has left the service since is
     * skipped.
     *
     * @return whether a record was written
     */
    static boolean write(ByteBuf out, long addresses, long flow, long backend, long lastHop, List<Service> services,
            SourceNatAddresses sourceNats) {
        int kind = (int) (flow >>> 56) & 0xFF;
        if (kind == JournalRing.TEMPLATE) {
            return writeTemplate(out, (int) (addresses >>> 32), (int) (flow >>> 32) & 0xFF,
                    (int) (backend >>> 16) & 0xFFFF, (int) lastHop, services);
        }
        out.writeByte(kind).writeByte((int) (flow >>> 48) & 0xFF).writeByte((int) (flow >>> 40) & 0xFF).writeByte(0);
        out.writeInt((int) (addresses >>> 32)).writeInt((int) addresses);
        out.writeShort((int) (flow >>> 16) & 0xFFFF).writeShort((int) flow & 0xFFFF);
        if (kind == JournalRing.CLOSED) {
            return true;
        }
        int serviceIndex = (int) (flow >>> 32) & 0xFF;
        Service service = serviceIndex < services.size() ? services.get(serviceIndex) : null;
        Backend held = service == null ? null : service.pool().byId((int) (backend >>> 16) & 0xFFFF);
        if (held == null) {
            out.writerIndex(out.writerIndex() - CLOSED_BYTES);
            return false;
        }
        out.writeInt(held.address()).writeShort((int) backend & 0xFFFF);
        out.writeShort((int) (lastHop >>> 32) & 0xFFFF).writeInt((int) lastHop);
        int natPort = (int) backend & 0xFFFF;
        out.writeInt(natPort == 0 ? 0 : sourceNats.address(serviceIndex, (int) (backend >>> 32) & 7));
        return true;
    }

    private static boolean writeTemplate(ByteBuf out, int network, int serviceIndex, int backendId,
            int lifetimeMillis, List<Service> services) {
        Service service = serviceIndex < services.size() ? services.get(serviceIndex) : null;
        Backend held = service == null ? null : service.pool().byId(backendId);
        if (held == null) {
            return false;
        }
        out.writeByte(JournalRing.TEMPLATE).writeByte(service.protocol()).writeShort(0);
        out.writeInt(network).writeInt(service.address()).writeShort(0).writeShort(service.port());
        out.writeInt(held.address()).writeInt(lifetimeMillis);
        return true;
    }

    /**
     * Appends every live persistence template of a worker; call on its loop.
     *
     * @return records written
     */
    static int templates(ByteBuf out, DispatchContext context, List<Service> services) {
        PersistenceTemplates templates = context.templates();
        if (templates == null) {
            return 0;
        }
        int[] written = {0};
        templates.forEach(context.now(), (serviceIndex, network, backendId, remainingMillis) -> {
            if (writeTemplate(out, network, serviceIndex, backendId, remainingMillis, services)) {
                written[0]++;
            }
        });
        return written[0];
    }

    /**
     * Appends every session of a table's slots {@code [from, from + count)} as changed records; call on the table's
     * loop.
     *
     * @return records written
     */
    static int snapshot(ByteBuf out, SessionTable table, int from, int count, List<Service> services,
            SourceNatAddresses sourceNats) {
        long[] words = new long[4];
        int written = 0;
        int end = Math.min(table.capacity(), from + count);
        for (int slot = from; slot < end; slot++) {
            if (table.protocol(slot) == 0) {
                continue;
            }
            JournalRing.pack(JournalRing.CHANGED, table, slot, words, 0);
            if (write(out, words[0], words[1], words[2], words[3], services, sourceNats)) {
                written++;
            }
        }
        return written;
    }

    /** Checks a whole payload (count and records) before anything of it is applied. */
    static int validate(ByteBuf payload) throws MalformedException {
        int at = payload.readerIndex();
        if (payload.readableBytes() < 4) {
            throw new MalformedException("no record count");
        }
        long count = payload.getUnsignedInt(at);
        at += 4;
        for (long i = 0; i < count; i++) {
            if (payload.writerIndex() - at < CLOSED_BYTES) {
                throw new MalformedException("record " + i + " of " + count + " is cut short");
            }
            int kind = payload.getUnsignedByte(at);
            int protocol = payload.getUnsignedByte(at + 1);
            if (protocol == 0) {
                throw new MalformedException("record " + i + " has protocol 0");
            }
            if (kind == JournalRing.CLOSED) {
                at += CLOSED_BYTES;
            } else if (kind == JournalRing.TEMPLATE) {
                if (payload.writerIndex() - at < TEMPLATE_BYTES) {
                    throw new MalformedException("record " + i + " of " + count + " is cut short");
                }
                at += TEMPLATE_BYTES;
            } else if (kind == JournalRing.CHANGED) {
                if (payload.writerIndex() - at < CHANGED_BYTES) {
                    throw new MalformedException("record " + i + " of " + count + " is cut short");
                }
                at += CHANGED_BYTES;
            } else {
                throw new MalformedException("record " + i + " has kind " + kind);
            }
        }
        if (at != payload.writerIndex()) {
            throw new MalformedException((payload.writerIndex() - at) + " bytes after the last record");
        }
        return (int) count;
    }

    /**
     * Applies a {@linkplain #validate validated} payload to the store, as {@code owner}'s sessions.
     *
     * @return sessions the store refused (full)
     */
    static int apply(ByteBuf payload, StandbySessions store, int owner, SourceNatAddresses sourceNats) {
        int refused = 0;
        long count = payload.readUnsignedInt();
        for (long i = 0; i < count; i++) {
            int kind = payload.readUnsignedByte();
            int protocol = payload.readUnsignedByte();
            int state = payload.readUnsignedByte();
            payload.skipBytes(1);
            int client = payload.readInt();
            int address = payload.readInt();
            int clientPort = payload.readUnsignedShort();
            int port = payload.readUnsignedShort();
            if (kind == JournalRing.CLOSED) {
                store.remove(protocol, client, clientPort, address, port);
                continue;
            }
            if (kind == JournalRing.TEMPLATE) {
                // client is the network; the protocol is the service's.
                if (!store.putTemplate(protocol, client, address, port, payload.readInt(), payload.readInt())) {
                    refused++;
                }
                continue;
            }
            int backend = payload.readInt();
            int natPort = payload.readUnsignedShort();
            long lastHop = ((long) payload.readUnsignedShort() << 32) | payload.readUnsignedInt();
            int natAddress = payload.readInt();
            if (natAddress != 0) {
                sourceNats.learn(natAddress);
            }
            if (!store.put(protocol, client, clientPort, address, port, backend, natAddress, natPort, state, lastHop,
                    owner)) {
                refused++;
            }
        }
        return refused;
    }
}
