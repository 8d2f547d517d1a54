package io.loadshare.distribution;

import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.demo.ClusterDemo;
import io.loadshare.demo.DemoCommands;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;

/**
 * Adds the demo module's commands to the command line. Kept apart from {@link Loadshare}, which the command line
 * reflects on, so that an installation without the demo module (the Debian package) never loads its types.
 */
final class DemoHook {
    private DemoHook() {
    }

    static void addTo(CommandLine cli) {
        DemoCommands.addTo(cli, DemoHook::start);
    }

    /** Starts a dispatcher in this process for the demo, once its first service has {@code backends} backends. */
    private static ClusterDemo.DispatcherStarter.Running start(Path file, int backends)
            throws IOException, InterruptedException {
        Dispatcher dispatcher = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (dispatcher.services().getFirst().pool().availableCount() < backends) {
            if (System.nanoTime() > deadline) {
                dispatcher.close();
                throw new IllegalStateException("the dispatcher did not resolve its backends by ARP within 10 s");
            }
            Thread.sleep(50);
        }
        return dispatcher::close;
    }
}
