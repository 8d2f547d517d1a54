package io.loadshare.testbed;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.loadshare.core.netns.NetworkNamespace;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * tcpdump on one interface of a namespace, for a test that must see nothing there: one that cannot pass for want of a
 * capture. The tool is required; the capture goes to a file of the test's own directory; and a positive control, a
 * frame the filter must match, is sent and seen first, so a capture that hears nothing has proved it would have
 * heard it. {@link #framesAfterControl} then counts what else it caught.
 */
public final class PacketCapture implements AutoCloseable {
    private final NetnsTestbed testbed;
    private final String namespace;
    private final Path file;
    private final Process tcpdump;

    private PacketCapture(NetnsTestbed testbed, String namespace, Path file, Process tcpdump) {
        this.testbed = testbed;
        this.namespace = namespace;
        this.file = file;
        this.tcpdump = tcpdump;
    }

    /**
     * Starts tcpdump, waits until it listens, sends the control and waits until the capture holds it.
     *
     * @param dir the test's own temporary directory
     * @param control sends one frame the filter matches, over the interface
     */
    public static PacketCapture start(NetnsTestbed testbed, String namespace, String interfaceName, String filter,
            Path dir, Control control) throws Exception {
        NetnsTestbed.requireTool("tcpdump");
        Path file = Files.createTempFile(dir, interfaceName + "-", ".pcap");
        Process tcpdump = testbed.start(namespace, "tcpdump", "-i", interfaceName, "-nn", "-U", "-Z", "root", "-w",
                file.toString(), filter);
        PacketCapture capture = new PacketCapture(testbed, namespace, file, tcpdump);
        // The testbed merges its output: tcpdump says "listening on" once it captures.
        BufferedReader err = new BufferedReader(new InputStreamReader(tcpdump.getInputStream()));
        String line = err.readLine();
        if (line == null || !line.contains("listening on")) {
            capture.close();
            fail("tcpdump did not start on " + interfaceName + " in " + namespace + ": " + line);
        }
        control.send();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (capture.frames() < 1) {
            if (System.nanoTime() > deadline) {
                capture.close();
                fail("the positive control never reached the capture on " + interfaceName + " (" + filter + ")");
            }
            Thread.sleep(50);
        }
        return capture;
    }

    /** Frames captured so far, past the positive control. */
    public int framesAfterControl() throws IOException {
        return frames() - 1;
    }

    private int frames() throws IOException {
        String read = testbed.exec(namespace, "sh", "-c", "tcpdump -r " + file + " -nn 2>/dev/null | wc -l");
        return Integer.parseInt(read.trim());
    }

    /** Sends a UDP datagram from {@code source} (a local address, 0.0.0.0 for any) to {@code target}, in a namespace. */
    public static Control datagram(String namespace, String source, String target) {
        return () -> {
            try (DatagramChannel channel = NetworkNamespace.named(namespace).run(() -> {
                DatagramChannel opened = DatagramChannel.open();
                opened.bind(new InetSocketAddress(source, 0));
                return opened;
            })) {
                channel.send(ByteBuffer.wrap("positive control".getBytes()), new InetSocketAddress(target, 9));
            }
        };
    }

    @Override
    public void close() throws InterruptedException {
        tcpdump.destroy();
        assertTrue(tcpdump.waitFor(5, TimeUnit.SECONDS), "tcpdump did not stop");
    }

    /** Sends a frame the capture's filter must match. */
    @FunctionalInterface
    public interface Control {
        void send() throws IOException;
    }
}
