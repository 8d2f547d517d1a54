package io.loadshare.transport.pcap;

import io.loadshare.testbed.NetnsTestbed;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** Every frame of a capture file as tcpdump itself reads it ({@code tcpdump -r FILE -xx}): the independent oracle. */
final class TcpdumpHex {
    private TcpdumpHex() {
    }

    static List<byte[]> read(Path file) {
        String output = NetnsTestbed.run("tcpdump", "-r", file.toString(), "-nn", "-xx");
        List<byte[]> frames = new ArrayList<>();
        ByteArrayOutputStream current = null;
        for (String line : output.split("\n")) {
            if (line.startsWith("\t0x")) {
                String hex = line.substring(line.indexOf(':') + 1).replace(" ", "").trim();
                current.writeBytes(HexFormat.of().parseHex(hex));
            } else if (!line.isBlank()) {
                if (current != null) {
                    frames.add(current.toByteArray());
                }
                current = new ByteArrayOutputStream();
            }
        }
        if (current != null) {
            frames.add(current.toByteArray());
        }
        return frames;
    }
}
