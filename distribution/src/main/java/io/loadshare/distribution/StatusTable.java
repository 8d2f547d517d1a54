package io.loadshare.distribution;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

/** Renders {@code /status} as a table in the manner of {@code ipvsadm -Ln --stats}. */
final class StatusTable {
    private StatusTable() {
    }

    static String render(String json) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException("the admin interface answered with something that is not its status", e);
        }
        StringBuilder out = new StringBuilder();
        out.append(String.format("%-5s %-28s %-26s%n", "Prot", "LocalAddress:Port", "Scheduler"));
        out.append(String.format("  -> %-24s %-17s %-9s %6s %10s %10s %12s %14s%n", "RemoteAddress:Port", "MAC", "State",
                "Weight", "ActiveConn", "Sessions", "Packets", "Bytes"));
        for (JsonNode service : root.path("services")) {
            out.append(String.format("%-5s %-28s %-26s%n", service.path("protocol").asText().toUpperCase(),
                    service.path("address").asText() + ":" + service.path("port").asInt(),
                    service.path("scheduler").asText() + " (" + service.path("name").asText() + ")"));
            for (JsonNode backend : service.path("backends")) {
                out.append(String.format("  -> %-24s %-17s %-9s %6d %10d %10d %12d %14d%n",
                        backend.path("address").asText(), backend.path("mac").asText(), backend.path("state").asText(),
                        backend.path("weight").asInt(), backend.path("active").asLong(),
                        backend.path("sessions").asLong(), backend.path("packets").asLong(),
                        backend.path("bytes").asLong()));
            }
        }
        JsonNode announced = root.path("announced");
        if (announced.size() > 0) {
            out.append("Announced:");
            for (Map.Entry<String, JsonNode> address : announced.properties()) {
                out.append(' ').append(address.getKey()).append(address.getValue().asBoolean() ? " (up)" : " (down)");
            }
            out.append('\n');
        }
        JsonNode fastPath = root.path("fast_path");
        if (!fastPath.isMissingNode()) {
            out.append(String.format("Fast path: %s on %s, %d flows now (installed %d, placed %d, removed %d,"
                    + " map-full %d); Packets and Bytes above include what it carried%n",
                    fastPath.path("hook").asText(), fastPath.path("interface").asText(), fastPath.path("flows").asLong(),
                    fastPath.path("installed").asLong(), fastPath.path("placed").asLong(),
                    fastPath.path("removed").asLong(), fastPath.path("map-full").asLong()));
        }
        JsonNode sync = root.path("sync");
        if (!sync.isMissingNode()) {
            out.append(String.format("Sync: %d standby sessions (of %d), %d taken over, %d handed over by the previous"
                    + " process%n", sync.path("standby_sessions").asLong(), sync.path("max_standby_sessions").asLong(),
                    sync.path("taken_over").asLong(), sync.path("handed_over").asLong()));
            for (JsonNode peer : sync.path("peers")) {
                StringBuilder adopted = new StringBuilder();
                peer.path("adopted").forEach(a -> adopted.append(adopted.isEmpty() ? "" : ", ").append(a.asText()));
                long last = peer.path("last_received_ms").asLong();
                out.append(String.format("  peer %s: sending %s, receiving %s%s, sent %d, received %d, last heard %s,"
                        + " links lost %d%s%n", peer.path("address").asText(), peer.path("sending").asText(),
                        peer.path("receiving").asBoolean() ? "up" : "down",
                        peer.path("synced").asBoolean() ? " (synced)" : "", peer.path("sessions_sent").asLong(),
                        peer.path("sessions_received").asLong(), last < 0 ? "never" : last + " ms ago",
                        peer.path("links_lost").asLong(), adopted.isEmpty() ? "" : "; answering for " + adopted));
            }
            StringBuilder refused = new StringBuilder();
            sync.path("refused").properties().forEach(e -> {
                if (e.getValue().asLong() > 0) {
                    refused.append(' ').append(e.getKey()).append('=').append(e.getValue().asLong());
                }
            });
            if (!refused.isEmpty() || sync.path("journal_dropped").asLong() > 0) {
                out.append("  refused:").append(refused).append(", journal dropped ")
                        .append(sync.path("journal_dropped").asLong()).append('\n');
            }
        }
        int workers = 1;
        for (JsonNode socket : root.path("sockets")) {
            workers = Math.max(workers, socket.path("worker").asInt() + 1);
        }
        for (JsonNode socket : root.path("sockets")) {
            long wakeUps = socket.path("wake_ups").asLong();
            long sendCalls = socket.path("send_calls").asLong();
            out.append(String.format("Socket %s %s%s: read %d frames in %d wake-ups (%s a wake-up, %d recvmmsg),"
                    + " sent %d in %d sendmmsg (%s a call), blocked %d, send failed %d, kernel drops %d%n",
                    socket.path("interface").asText(), socket.path("socket").asText(),
                    workers > 1 ? " (worker " + socket.path("worker").asInt() + ")" : "", socket.path("received").asLong(),
                    wakeUps, perCall(socket.path("received").asLong(), wakeUps),
                    socket.path("receive_calls").asLong(), socket.path("sent").asLong(), sendCalls,
                    perCall(socket.path("sent").asLong(), sendCalls), socket.path("send_blocked").asLong(),
                    socket.path("send_failed").asLong(), socket.path("kernel_drops").asLong()));
        }
        JsonNode drops = root.path("drops");
        if (drops.size() > 0) {
            out.append("Drops:");
            for (Map.Entry<String, JsonNode> drop : drops.properties()) {
                out.append(' ').append(drop.getKey()).append('=').append(drop.getValue().asLong());
            }
            out.append('\n');
        }
        return out.toString();
    }

    private static String perCall(long frames, long calls) {
        return calls == 0 ? "-" : String.format("%.1f", (double) frames / calls);
    }
}
