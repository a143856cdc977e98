package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.engine.connector.KvConnector;
import io.tessera.engine.connector.KvTransfer;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** {@code kv_transfer_params}: read as vLLM's keys, refused by a server that takes no part in KV transfer. */
class KvTransferParamsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A connector that takes every transfer, to check the parsing alone. */
    private static final KvConnector TAKES_ALL = new KvConnector() {
        @Override
        public int loadableTokens(KvTransfer transfer, int promptLength, int localTokens) {
            return 0;
        }

        @Override
        public void startLoad(long loadId, KvTransfer transfer, int[] blockTable, int fromToken, int toToken) {
        }

        @Override
        public void cancelLoad(long loadId) {
        }

        @Override
        public boolean requestFinished(KvTransfer transfer, int[] blockTable, int computedTokens, long pinId) {
            return false;
        }

        @Override
        public void drainEvents(Consumer<Event> sink) {
        }

        @Override
        public void wakeup(Runnable wakeup) {
        }

        @Override
        public String refuses(KvTransfer transfer) {
            return null;
        }
    };

    @Test
    void aServerWithoutKvTransferRefusesTheFieldAndAcceptsItsAbsence() throws Exception {
        ApiException e = assertThrows(ApiException.class, () -> KvTransferParams.parse(JSON.readTree(
                "{\"kv_transfer_params\":{\"do_remote_decode\":true}}"), KvConnector.NONE));
        assertEquals(400, e.status());
        assertTrue(e.getMessage().contains("does not take part in KV transfer"), e.getMessage());
        assertNull(KvTransferParams.parse(JSON.readTree("{\"prompt\":\"x\"}"), KvConnector.NONE));
        assertNull(KvTransferParams.parse(JSON.readTree("{\"kv_transfer_params\":null}"), KvConnector.NONE));
    }

    @Test
    void theKeysBecomeATransfer() throws Exception {
        KvTransfer p = KvTransferParams.parse(JSON.readTree("{\"kv_transfer_params\":{\"do_remote_decode\":true}}"),
                TAKES_ALL);
        assertEquals(KvTransfer.Role.PRODUCE, p.role());
        assertEquals(36, p.transferId().length()); // a fresh random id per request
        KvTransfer c = KvTransferParams.parse(JSON.readTree("{\"kv_transfer_params\":{\"do_remote_prefill\":true,"
                + "\"transfer_id\":\"abc\",\"remote_host\":\"10.0.0.1\",\"remote_port\":7100}}"), TAKES_ALL);
        assertEquals(KvTransfer.consume("abc", "10.0.0.1", 7100), c);
        ApiException e = assertThrows(ApiException.class, () -> KvTransferParams.parse(JSON.readTree(
                "{\"kv_transfer_params\":{\"do_remote_prefill\":true,\"transfer_id\":\"abc\",\"remote_host\":\"h\","
                        + "\"remote_port\":7100.5}}"), TAKES_ALL));
        assertTrue(e.getMessage().contains("port"), e.getMessage());
    }

    @Test
    void aPrefixHintNamesThePeerAndIsIgnoredWhereItCannotBeUsed() throws Exception {
        String hint = "{\"kv_transfer_params\":{\"fetch_prefix_from_peer\":true,\"remote_host\":\"10.0.0.2\","
                + "\"remote_port\":7100}}";
        KvTransfer t = KvTransferParams.parse(JSON.readTree(hint), TAKES_ALL);
        assertEquals(KvTransfer.Role.PEER_PREFIX, t.role());
        assertEquals("10.0.0.2", t.remoteHost());
        assertEquals(7100, t.remotePort());
        // a hint only saves work: a server that takes no part in KV transfer computes the prompt
        assertNull(KvTransferParams.parse(JSON.readTree(hint), KvConnector.NONE));
    }

    @Test
    void aMalformedPrefixHintIsA400NamingTheField() throws Exception {
        for (String bad : new String[] {
            "{\"fetch_prefix_from_peer\":true,\"remote_host\":\"h\"}",
            "{\"fetch_prefix_from_peer\":true,\"remote_host\":\"h\",\"remote_port\":0}",
            "{\"fetch_prefix_from_peer\":true,\"remote_host\":\"h\",\"remote_port\":65536}",
            "{\"fetch_prefix_from_peer\":true,\"remote_host\":\"h\",\"remote_port\":\"7100\"}",
            "{\"fetch_prefix_from_peer\":true,\"remote_host\":7,\"remote_port\":7100}",
            "{\"fetch_prefix_from_peer\":true,\"remote_host\":\"\",\"remote_port\":7100}",
            "{\"fetch_prefix_from_peer\":\"yes\",\"remote_host\":\"h\",\"remote_port\":7100}",
            "{\"fetch_prefix_from_peer\":true,\"do_remote_prefill\":true,\"transfer_id\":\"a\","
                    + "\"remote_host\":\"h\",\"remote_port\":7100}",
        }) {
            ApiException e = assertThrows(ApiException.class, () -> KvTransferParams.parse(JSON.readTree(
                    "{\"kv_transfer_params\":" + bad + "}"), TAKES_ALL), bad);
            assertEquals(400, e.status(), bad);
            assertTrue(e.getMessage().contains("kv_transfer_params") || e.getMessage().contains("remote_host")
                    || e.getMessage().contains("fetch_prefix_from_peer"), e.getMessage());
        }
    }
}
