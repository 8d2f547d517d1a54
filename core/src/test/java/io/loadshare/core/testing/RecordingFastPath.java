package io.loadshare.core.testing;

import io.loadshare.core.pipeline.FlowOffload;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Packet;
import java.util.ArrayList;
import java.util.List;

/**
 * A fast path that records what the pipeline hands over and takes back, standing in for the kernel's in pipeline
 * tests: "install PORT to MAC" (the frame's source port and destination MAC as the rewrite left them), "remove
 * PORT", "close".
 */
public final class RecordingFastPath implements FlowOffload {
    public final List<String> events = new ArrayList<>();
    public int syncs;

    @Override
    public boolean install(Packet packet) {
        events.add("install " + packet.sourcePort() + " to " + MacAddress.format(packet.ethernet().destination()));
        return true;
    }

    @Override
    public void remove(int slot, int protocol, int sourceAddress, int sourcePort, int destinationAddress, int destinationPort) {
        events.add("remove " + sourcePort);
    }

    @Override
    public long idleNanos(int protocol, int sourceAddress, int sourcePort, int destinationAddress,
            int destinationPort) {
        return -1;
    }

    @Override
    public long clientIdleNanos(int protocol, int sourceAddress, int sourcePort, int destinationAddress,
            int destinationPort) {
        return -1;
    }

    @Override
    public void sync(DispatchContext context) {
        syncs++;
    }

    @Override
    public void learn(DispatchContext context) {
    }

    @Override
    public void close() {
        events.add("close");
    }
}
