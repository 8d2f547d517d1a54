package io.loadshare.dispatch.l3;

import io.loadshare.core.packet.ArpHeader;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.pipeline.HardwareAddressed;
import io.loadshare.core.pipeline.SourceNatAddresses;
import io.loadshare.core.session.SessionTable;
import io.netty.channel.Channel;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Full NAT's source addresses: each service's own, and those of other dispatchers of the tier whose sessions
 * session sync brought here. A session taken over from another dispatcher keeps that dispatcher's address and port,
 * which the backend knows it by. When another dispatcher dies, one survivor {@linkplain #adopt adopts} its
 * addresses: it answers ARP for them on the backend side and announces them with gratuitous ARP (as VRRP moves an
 * address), so the backends' replies to the dead dispatcher's flows reach a dispatcher that holds them.
 *
 * <p>The data plane reads immutable arrays that the control plane swaps; an index, once given, keeps its address.
 */
final class L3SourceNats implements SourceNatAddresses {
    private static final Logger LOG = LoggerFactory.getLogger(L3SourceNats.class);
    private final int[] own;
    private final int gratuitousCount;
    /** Other dispatchers' addresses: index i + 1 is foreign[i]. */
    private volatile int[] foreign = new int[0];
    private volatile int[] adopted = new int[0];
    /** The channels that face backends and announce addresses: worker 0's. */
    private final List<Channel> announcers = new CopyOnWriteArrayList<>();

    /** @param own by service index, the service's source-NAT address or 0 */
    L3SourceNats(int[] own, int gratuitousCount) {
        this.own = own.clone();
        this.gratuitousCount = Math.max(1, gratuitousCount);
    }

    @Override
    public int address(int serviceIndex, int index) {
        if (index == 0) {
            return own[serviceIndex];
        }
        int[] known = foreign;
        return index <= known.length ? known[index - 1] : 0;
    }

    @Override
    public int indexOf(int serviceIndex, int address) {
        if (address == own[serviceIndex]) {
            return 0;
        }
        int[] known = foreign;
        for (int i = 0; i < known.length; i++) {
            if (known[i] == address) {
                return i + 1;
            }
        }
        return -1;
    }

    @Override
    public synchronized void learn(int address) {
        for (int mine : own) {
            if (mine == address) {
                return;
            }
        }
        int[] known = foreign;
        for (int each : known) {
            if (each == address) {
                return;
            }
        }
        if (known.length == SessionTable.NAT_ADDRESSES - 1) {
            LOG.warn("ignoring source-NAT address {}: a dispatcher takes over the sessions of {} others' addresses at"
                    + " most", Ipv4Address.format(address), known.length);
            return;
        }
        int[] grown = Arrays.copyOf(known, known.length + 1);
        grown[known.length] = address;
        foreign = grown;
    }

    @Override
    public List<Integer> own() {
        return Arrays.stream(own).filter(a -> a != 0).distinct().boxed().toList();
    }

    @Override
    public synchronized void adopt(int address) {
        for (int each : adopted) {
            if (each == address) {
                return;
            }
        }
        learn(address);
        int[] grown = Arrays.copyOf(adopted, adopted.length + 1);
        grown[adopted.length] = address;
        adopted = grown;
        announce(address);
    }

    @Override
    public void announceOwn() {
        own().forEach(this::announce);
    }

    /** Sends gratuitous ARPs for {@code address} on the announcing channels, from their event loops. */
    private void announce(int address) {
        for (Channel channel : announcers) {
            channel.eventLoop().execute(() -> {
                long mac = ((HardwareAddressed) channel).hardwareAddress();
                for (int i = 0; i < gratuitousCount; i++) {
                    channel.write(Frames.arp(channel.alloc().directBuffer(64), MacAddress.BROADCAST, mac,
                            ArpHeader.REQUEST, mac, address, MacAddress.ZERO, address), channel.voidPromise());
                }
                channel.flush();
            });
        }
    }

    @Override
    public synchronized void release(int address) {
        adopted = Arrays.stream(adopted).filter(a -> a != address).toArray();
    }

    /** Whether this dispatcher answers ARP for another's address it adopted. Data plane. */
    boolean adopted(int address) {
        for (int each : adopted) {
            if (each == address) {
                return true;
            }
        }
        return false;
    }

    /** Announces adopted addresses on {@code channel} from now on (a backend-facing channel of worker 0). */
    void announceOn(Channel channel) {
        announcers.add(channel);
        channel.closeFuture().addListener(f -> announcers.remove(channel));
    }
}
