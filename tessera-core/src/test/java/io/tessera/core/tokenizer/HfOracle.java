package io.tessera.core.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Hugging Face's own Rust tokenizers (through DJL's bindings, native library bundled in the jar):
 * the reference the parity tests compare with. No truncation, no padding.
 */
public final class HfOracle implements AutoCloseable {
    static {
        // DJL would otherwise probe cloud metadata addresses to report usage, and could look online.
        System.setProperty("OPT_OUT_TRACKING", "true");
        System.setProperty("offline", "true");
    }

    private final HuggingFaceTokenizer tokenizer;

    private HfOracle(HuggingFaceTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Loads {@code tokenizer.json} from a file or a directory. */
    public static HfOracle load(Path path) throws IOException {
        return new HfOracle(HuggingFaceTokenizer.newInstance(path,
                Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "true")));
    }

    public int[] encode(String text, boolean addSpecialTokens) {
        long[] ids = tokenizer.encode(text, addSpecialTokens, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) out[i] = Math.toIntExact(ids[i]);
        return out;
    }

    public String decode(int[] ids, boolean skipSpecialTokens) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) l[i] = ids[i];
        return tokenizer.decode(l, skipSpecialTokens);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
