package io.loadshare.distribution;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.session.SessionState;
import io.loadshare.core.session.SessionTable;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * {@code GET /connections}, the sessions as {@code ipvsadm -Lnc} lists them: protocol, state, time to expiry, client,
 * service, service address, backend, worker, and whether the kernel's fast path carries the flow; filtered by
 * service, backend, client network and state.
 *
 * <p>Streamed, so that a million sessions neither stall a worker nor fill memory: each worker's table is read on its
 * own loop a slice of slots per task, where the matching sessions' fields are only copied into one reused array;
 * the admin loop formats them and writes the chunk, and asks for the next slice once the chunk has left. One slice is
 * in flight at a time.
 */
final class ConnectionListing {
    /** Slots read per task on a worker's loop: tens of microseconds once compiled, a millisecond before. */
    static final int SLICE = 1024;
    private static final int FIELDS = 3;
    private static final String FORMAT = "%-5s %-14s %8s %-21s %-12s %-21s %-21s %6s %s%n";
    static final String HEADER = String.format(Locale.ROOT, FORMAT, "PROTO", "STATE", "EXPIRES", "CLIENT", "SERVICE",
            "VIRTUAL", "BACKEND", "WORKER", "KERNEL");
    /** The states a filter may name, as {@link SessionState#name} spells them. */
    static final List<String> STATES = IntStream.rangeClosed(1, SessionState.LIMIT - 1).mapToObj(SessionState::name)
            .toList();

    private final List<DispatchContext> workers;
    private final List<Service> services;
    private final Filter filter;
    private final long[] fields = new long[SLICE * FIELDS];
    /** A slice's lines, reused; the admin loop's. */
    private final StringBuilder lines = new StringBuilder(SLICE * 140);

    /**
     * What a listing keeps: a service index, a backend address, a client network and a state; each -1 (the network:
     * a mask of 0) for any.
     */
    record Filter(int service, long backend, int network, int mask, int state) {
        /**
         * The filter a request's query asks for.
         *
         * @throws IllegalArgumentException naming the parameter and what it takes
         */
        static Filter of(QueryStringDecoder uri, List<Service> services) {
            int service = -1;
            String name = first(uri, "service");
            if (name != null) {
                service = services.stream().filter(s -> s.name().equals(name)).mapToInt(Service::index).findFirst()
                        .orElseThrow(() -> new IllegalArgumentException("service: no service named " + name
                                + "; there are " + services.stream().map(Service::name).toList()));
            }
            long backend = -1;
            String address = first(uri, "backend");
            if (address != null) {
                backend = parse(address, "backend", "an IPv4 address") & 0xFFFF_FFFFL;
            }
            int network = 0;
            int mask = 0;
            String client = first(uri, "client");
            if (client != null) {
                int slash = client.indexOf('/');
                int bits = 32;
                if (slash >= 0) {
                    try {
                        bits = Integer.parseInt(client.substring(slash + 1));
                    } catch (NumberFormatException e) {
                        bits = -1;
                    }
                    if (bits < 0 || bits > 32) {
                        throw new IllegalArgumentException("client: expected an IPv4 address or network (ADDRESS/0..32),"
                                + " was " + client);
                    }
                }
                mask = bits == 0 ? 0 : -1 << (32 - bits);
                network = parse(slash >= 0 ? client.substring(0, slash) : client, "client",
                        "an IPv4 address or network (ADDRESS/0..32)") & mask;
            }
            int state = -1;
            String wanted = first(uri, "state");
            if (wanted != null) {
                int index = STATES.indexOf(wanted);
                if (index < 0) {
                    throw new IllegalArgumentException("state: expected one of " + STATES + ", was " + wanted);
                }
                state = index + 1;
            }
            return new Filter(service, backend, network, mask, state);
        }

        private static String first(QueryStringDecoder uri, String name) {
            List<String> values = uri.parameters().get(name);
            return values == null || values.getFirst().isEmpty() ? null : values.getFirst();
        }

        private static int parse(String address, String parameter, String expected) {
            try {
                return Ipv4Address.parse(address);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(parameter + ": expected " + expected + ", was " + address);
            }
        }

        /** Whether a slot's session passes; on the table's loop. */
        boolean keeps(SessionTable table, int slot, Service owner) {
            if (service >= 0 && table.serviceIndex(slot) != service
                    || state >= 0 && table.state(slot) != state
                    || (table.sourceAddress(slot) & mask) != network) {
                return false;
            }
            if (backend < 0) {
                return true;
            }
            Backend held = owner == null ? null : owner.pool().byId(table.backendId(slot));
            return held != null && (held.address() & 0xFFFF_FFFFL) == backend;
        }
    }

    ConnectionListing(List<DispatchContext> workers, List<Service> services, Filter filter) {
        this.workers = workers;
        this.services = services;
        this.filter = filter;
    }

    /** Answers the request on {@code ctx}: a chunked response, a line per session after {@link #HEADER}. */
    void stream(ChannelHandlerContext ctx) {
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        head.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        HttpUtil.setTransferEncodingChunked(head, true);
        ctx.write(head);
        ctx.writeAndFlush(new DefaultHttpContent(ByteBufUtil.writeUtf8(ctx.alloc(), HEADER)))
                .addListener(sent -> next(ctx, sent.isSuccess(), 0, 0));
    }

    /** Reads worker {@code worker}'s slots from {@code from} on its loop, then writes them here. */
    private void next(ChannelHandlerContext ctx, boolean clientStillThere, int worker, int from) {
        if (!clientStillThere) {
            ctx.close();
            return;
        }
        if (worker == workers.size()) {
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        DispatchContext context = workers.get(worker);
        context.submit(() -> {
            int count = copy(context, from);
            int capacity = context.sessions().capacity();
            ctx.executor().execute(() -> {
                boolean last = from + SLICE >= capacity;
                int nextWorker = last ? worker + 1 : worker;
                int nextFrom = last ? 0 : from + SLICE;
                if (count == 0) {
                    next(ctx, ctx.channel().isActive(), nextWorker, nextFrom);
                    return;
                }
                ByteBuf chunk = ByteBufUtil.writeAscii(ctx.alloc(), format(count, worker));
                ctx.writeAndFlush(new DefaultHttpContent(chunk))
                        .addListener(sent -> next(ctx, sent.isSuccess(), nextWorker, nextFrom));
            });
        }).addListener(submitted -> {
            if (!submitted.isSuccess()) {
                ctx.close();
            }
        });
    }

    /** Copies the matching sessions of slots {@code [from, from + SLICE)} into {@link #fields}; on the table's loop. */
    private int copy(DispatchContext context, int from) {
        SessionTable table = context.sessions();
        int now = context.now();
        int end = Math.min(table.capacity(), from + SLICE);
        int count = 0;
        for (int slot = from; slot < end; slot++) {
            int protocol = table.protocol(slot);
            if (protocol == 0) {
                continue;
            }
            int serviceIndex = table.serviceIndex(slot);
            Service owner = serviceIndex < services.size() ? services.get(serviceIndex) : null;
            if (!filter.keeps(table, slot, owner)) {
                continue;
            }
            int base = count++ * FIELDS;
            fields[base] = ((long) table.sourceAddress(slot) << 32) | (table.destinationAddress(slot) & 0xFFFF_FFFFL);
            fields[base + 1] = ((long) protocol << 56) | ((long) table.state(slot) << 48) | ((long) serviceIndex << 40)
                    | ((table.isOffloaded(slot) ? 1L : 0L) << 32) | ((long) table.sourcePort(slot) << 16)
                    | table.destinationPort(slot);
            fields[base + 2] = ((long) table.backendId(slot) << 32) | ((table.deadline(slot) - now) & 0xFFFF_FFFFL);
        }
        return count;
    }

    /**
     * The lines of the {@code count} sessions {@link #fields} holds, in {@link #lines}; on the admin loop, and
     * without garbage: a collector's pause would stop the workers too.
     */
    private CharSequence format(int count, int worker) {
        lines.setLength(0);
        for (int i = 0; i < count; i++) {
            long addresses = fields[i * FIELDS];
            long flow = fields[i * FIELDS + 1];
            long held = fields[i * FIELDS + 2];
            int protocol = (int) (flow >>> 56) & 0xFF;
            int serviceIndex = (int) (flow >>> 40) & 0xFF;
            int port = (int) flow & 0xFFFF;
            Service service = serviceIndex < services.size() ? services.get(serviceIndex) : null;
            Backend backend = service == null ? null : service.pool().byId((int) (held >>> 32) & 0xFFFF);
            int start = lines.length();
            if (protocol == IpProtocol.TCP || protocol == IpProtocol.UDP) {
                lines.append(protocol == IpProtocol.TCP ? "tcp" : "udp");
            } else {
                lines.append("ip").append(protocol);
            }
            column(start, 6);
            lines.append(SessionState.name((int) (flow >>> 48) & 0xFF));
            column(start, 21);
            int millis = Math.max(0, (int) held);
            // Right-aligned in 8: seconds, a tenth, and the unit.
            pad(8 - digits(millis / 1000) - 3);
            lines.append(millis / 1000).append('.').append(millis % 1000 / 100).append('s');
            column(start, 30);
            address((int) (addresses >>> 32), (int) (flow >>> 16) & 0xFFFF);
            column(start, 52);
            lines.append(service == null ? "-" : service.name());
            column(start, 65);
            address((int) addresses, port);
            column(start, 87);
            if (backend == null) {
                lines.append("(gone)");
            } else {
                address(backend.address(), backend.serverPort(port));
            }
            column(start, 109);
            pad(6 - digits(worker));
            lines.append(worker).append(' ').append(((flow >>> 32) & 1) != 0 ? "yes" : "no").append('\n');
        }
        return lines;
    }

    /** Appends an address and port as {@code a.b.c.d:port}, without a string in between. */
    private void address(int address, int port) {
        lines.append(address >>> 24).append('.').append((address >>> 16) & 0xFF).append('.')
                .append((address >>> 8) & 0xFF).append('.').append(address & 0xFF).append(':').append(port);
    }

    private void pad(int spaces) {
        for (int i = 0; i < spaces; i++) {
            lines.append(' ');
        }
    }

    private static int digits(int value) {
        return value < 10 ? 1 : 1 + digits(value / 10);
    }

    /** Pads the line begun at {@code start} to {@code width} characters, one space at least. */
    private void column(int start, int width) {
        lines.append(' ');
        while (lines.length() - start < width) {
            lines.append(' ');
        }
    }
}
