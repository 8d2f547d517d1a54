package io.loadshare.sync;

import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.pipeline.SourceNatAddresses;
import io.loadshare.core.session.StandbySessions;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The session table handed from a stopping process to the next one: the stopping one writes every worker's
 * sessions to a file, the next one takes them as standby sessions (owner {@link StandbySessions#PREVIOUS_PROCESS})
 * and deletes the file, so a restart (an upgrade, {@code systemctl restart}, the restart after a link loss) breaks
 * no connection, whatever the scheduler: the first packet of each flow takes its session over.
 *
 * <p>The file: {@code "LSHO"}, a version byte, then blocks of a u32 length and a {@link SessionRecords} payload.
 * It is written beside its final name and moved over it, mode 0600, so a reader sees a whole file or none. A file
 * that does not parse is ignored as a whole (and logged).
 */
final class SessionHandover {
    private static final Logger LOG = LoggerFactory.getLogger(SessionHandover.class);
    private static final int MAGIC = 0x4C53_484F;
    private static final int VERSION = 1;
    private static final int SLICE = 65_536;

    private SessionHandover() {
    }

    static long leave(Path file, List<DispatchContext> contexts, List<Service> services)
            throws IOException, InterruptedException {
        List<ByteBuf> blocks = new ArrayList<>();
        long sessions = 0;
        try {
            for (DispatchContext context : contexts) {
                List<ByteBuf> made = new ArrayList<>();
                long[] count = {0};
                try {
                    context.submit(() -> {
                        for (int from = 0; from < context.sessions().capacity(); from += SLICE) {
                            ByteBuf payload = Unpooled.buffer();
                            payload.writeInt(0);
                            int n = SessionRecords.snapshot(payload, context.sessions(), from, SLICE, services,
                                    context.sourceNats());
                            payload.setInt(0, n);
                            if (from + SLICE >= context.sessions().capacity()) {
                                n += SessionRecords.templates(payload, context, services);
                                payload.setInt(0, n);
                            }
                            count[0] += n;
                            if (n > 0) {
                                made.add(payload);
                            } else {
                                payload.release();
                            }
                        }
                    }).get();
                } catch (ExecutionException e) {
                    throw new IOException("reading a worker's sessions failed", e.getCause());
                }
                blocks.addAll(made);
                sessions += count[0];
            }
            Path temporary = file.resolveSibling(file.getFileName() + ".new");
            if (file.toAbsolutePath().getParent() != null) {
                Files.createDirectories(file.toAbsolutePath().getParent());
            }
            Files.deleteIfExists(temporary);
            Files.createFile(temporary, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(
                    "rw-------")));
            try (OutputStream out = Files.newOutputStream(temporary, StandardOpenOption.WRITE)) {
                ByteBuf header = Unpooled.buffer(5).writeInt(MAGIC).writeByte(VERSION);
                header.readBytes(out, header.readableBytes());
                for (ByteBuf block : blocks) {
                    out.write(new byte[] {(byte) (block.readableBytes() >>> 24), (byte) (block.readableBytes() >>> 16),
                            (byte) (block.readableBytes() >>> 8), (byte) block.readableBytes()});
                    block.readBytes(out, block.readableBytes());
                }
            }
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            blocks.forEach(ByteBuf::release);
        }
        LOG.info("handed {} session(s) over to the next process in {}", sessions, file);
        return sessions;
    }

    /** Takes the sessions of a previous process's file into the store, then deletes the file. */
    static long take(Path file, StandbySessions store, Duration maxAge, SourceNatAddresses sourceNats) {
        if (!Files.exists(file)) {
            return 0;
        }
        try {
            Instant written = Files.getLastModifiedTime(file).toInstant();
            if (written.plus(maxAge).isBefore(Instant.now())) {
                LOG.warn("ignoring {}: written at {}, longer ago than any session lives", file, written);
                return 0;
            }
            ByteBuf content = Unpooled.wrappedBuffer(Files.readAllBytes(file));
            List<ByteBuf> payloads = new ArrayList<>();
            long sessions = 0;
            if (content.readableBytes() < 5 || content.readInt() != MAGIC || content.readUnsignedByte() != VERSION) {
                LOG.warn("ignoring {}: not a hand-over file of version {}", file, VERSION);
                return 0;
            }
            while (content.isReadable()) {
                if (content.readableBytes() < 4) {
                    throw new SessionRecords.MalformedException("a block is cut short");
                }
                long length = content.readUnsignedInt();
                if (length > content.readableBytes()) {
                    throw new SessionRecords.MalformedException("a block is cut short");
                }
                ByteBuf payload = content.readSlice((int) length);
                sessions += SessionRecords.validate(payload);
                payloads.add(payload);
            }
            int refused = 0;
            for (ByteBuf payload : payloads) {
                refused += SessionRecords.apply(payload, store, StandbySessions.PREVIOUS_PROCESS, sourceNats);
            }
            LOG.info("took over {} session(s) from the previous process ({}){}", sessions - refused, file,
                    refused > 0 ? "; " + refused + " did not fit max-standby-sessions" : "");
            return sessions - refused;
        } catch (SessionRecords.MalformedException e) {
            LOG.warn("ignoring {}: {}", file, e.getMessage());
            return 0;
        } catch (IOException e) {
            LOG.warn("cannot read {}: {}", file, e.toString());
            return 0;
        } finally {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                LOG.warn("cannot delete {}: {}", file, e.toString());
            }
        }
    }
}
