package org.jbtrfs.bench.jmh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.space.FlushPolicy;
import org.junit.jupiter.api.Test;

/**
 * The ticket-path benchmark measures tickets and says so: driven without JMH, one thread's
 * operations after the first all wait on a ticket granted by the reclaimer's give-back, and the
 * iteration's check passes with every counter back at zero; an iteration of fast-path
 * reservations only is refused.
 */
class TicketBenchTest {
    static final int OPS = 50;

    @Test
    void everyReservationButTheFirstIsGrantedThroughATicket() throws Exception {
        TicketBench b = new TicketBench();
        b.setupFor(1);
        try {
            b.startIteration();
            long before = b.metadata.ticketsGranted();
            for (int i = 0; i < OPS; i++) {
                b.ticketPath(); // alone, one free block: only the first finds it free
            }
            assertEquals(OPS - 1, b.metadata.ticketsGranted() - before, "tickets granted");
            b.checkIteration();
            assertEquals(0, b.metadata.counters().bytesMayUse());
        } finally {
            b.stop();
        }
    }

    @Test
    void anIterationOfFastPathReservationsFails() throws Exception {
        TicketBench b = new TicketBench();
        b.setupFor(1);
        try {
            b.startIteration();
            for (int i = 0; i < OPS; i++) {
                b.spaces.reserveBytes(b.metadata, TicketBench.NODESIZE, FlushPolicy.FLUSH_ALL);
                b.metadata.freeBytesMayUse(TicketBench.NODESIZE); // given back at once: never a ticket
                b.reservations.increment();
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, b::checkIteration);
            assertTrue(e.getMessage().contains("measured the fast path"), e.getMessage());
        } finally {
            b.stop();
        }
    }
}
