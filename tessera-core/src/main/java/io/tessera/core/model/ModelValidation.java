package io.tessera.core.model;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufFile;
import io.tessera.core.gguf.GgufMetadata;
import io.tessera.core.gguf.GgufTensorInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks a model file's hyperparameters and tensor set before anything runs on them. A corrupt
 * value must stop the load with an error naming its key; it must never run and print garbage
 * (an infinite epsilon, a rope base of 1e-45, a layer that exists in the file but not in the
 * block count).
 *
 * <p>The bounds are generous, several times the largest published model, so that they reject only
 * values no trained model has: they are there to catch damage, not to limit what can be run.
 */
public final class ModelValidation {

    static final int MAX_EMBEDDING = 1 << 16;
    static final int MAX_FEED_FORWARD = 1 << 20;
    static final int MAX_BLOCKS = 1 << 12;
    static final int MAX_HEADS = 1 << 12;
    static final int MAX_HEAD_DIM = 1 << 12;
    static final int MAX_VOCAB = 1 << 24;
    static final int MAX_CONTEXT = 1 << 24;
    static final double MAX_ROPE_BASE = 1e12;

    private static final Pattern BLOCK_TENSOR = Pattern.compile("blk\\.(\\d+)\\..*");
    private static final int NAMED_AT_MOST = 8;

    private ModelValidation() {
    }

    /**
     * Checks the standard GGUF hyperparameter keys {@code <arch>.*} before a configuration is built
     * from them: each against its range, and against each other (heads split the embedding, KV
     * heads divide the heads). Optional keys are checked when present.
     *
     * @param p the key prefix, e.g. {@code llama.}
     */
    public static void checkHyperparameters(GgufMetadata md, String p) throws ModelFormatException {
        Path file = md.file();
        long dim = range(md, p + "embedding_length", MAX_EMBEDDING);
        range(md, p + "feed_forward_length", MAX_FEED_FORWARD);
        range(md, p + "block_count", MAX_BLOCKS);
        long heads = range(md, p + "attention.head_count", Math.min(MAX_HEADS, dim));
        String kvKey = p + "attention.head_count_kv";
        if (md.contains(kvKey) && heads % range(md, kvKey, heads) != 0) {
            throw new ModelFormatException(file, key(kvKey), md.getLong(kvKey) + " does not divide the head count "
                    + heads);
        }
        String headDimKey = p + "attention.key_length";
        long headDim;
        if (md.contains(headDimKey)) {
            headDim = range(md, headDimKey, MAX_HEAD_DIM);
        } else if (dim % heads != 0) {
            throw new ModelFormatException(file, key(p + "attention.head_count"), heads
                    + " heads do not divide the embedding length " + dim + " (and no key_length is given)");
        } else {
            headDim = dim / heads;
        }
        if (headDim % 2 != 0) {
            throw new ModelFormatException(file, key(headDimKey), "head dimension " + headDim
                    + " must be even (rotary embedding turns pairs)");
        }
        sameAsHeadDim(md, p + "attention.value_length", headDim);
        // rope.dimension_count may be less than the head (partial rotary); GgufHyperparameters checks it
        if (md.contains(p + "vocab_size")) {
            range(md, p + "vocab_size", MAX_VOCAB);
        }
        range(md, p + "context_length", MAX_CONTEXT);
        String baseKey = p + "rope.freq_base";
        double base = md.getFloat(baseKey, 10000f);
        if (!Double.isFinite(base) || base <= 1 || base > MAX_ROPE_BASE) {
            throw new ModelFormatException(file, key(baseKey), "value " + base
                    + " is out of range (above 1, at most " + MAX_ROPE_BASE + ")");
        }
        String epsKey = p + "attention.layer_norm_rms_epsilon";
        double eps = md.getFloat(epsKey, 1e-5f);
        if (!Double.isFinite(eps) || eps <= 0 || eps >= 1) {
            throw new ModelFormatException(file, key(epsKey), "value " + eps + " is out of range (above 0, below 1)");
        }
    }

    /**
     * Checks that the file holds no tensor the loader did not use: a layer beyond the block count
     * (which would be silently skipped), or a tensor inside a block that this architecture does not
     * apply (which would silently be left out of the computation). Tensors outside the blocks are
     * left alone; some files carry extra ones (e.g. {@code rope_freqs.weight}).
     *
     * @param used the names of the tensors the loader read
     */
    public static void checkTensorSet(GgufFile gguf, String architecture, int blocks, Set<String> used)
            throws ModelFormatException {
        List<String> beyond = new ArrayList<>();
        List<String> unknown = new ArrayList<>();
        for (GgufTensorInfo t : gguf.tensorInfos()) {
            Matcher m = BLOCK_TENSOR.matcher(t.name());
            if (!m.matches() || used.contains(t.name())) {
                continue;
            }
            boolean inRange = m.group(1).length() <= 9 && Integer.parseInt(m.group(1)) < blocks;
            (inRange ? unknown : beyond).add(t.name());
        }
        if (!beyond.isEmpty()) {
            throw new ModelFormatException(gguf.path(), key(architecture + ".block_count"), "is " + blocks
                    + " but the file has tensors of further blocks: " + names(beyond));
        }
        if (!unknown.isEmpty()) {
            throw new ModelFormatException(gguf.path(), "tensors", "architecture '" + architecture
                    + "' does not use " + names(unknown) + "; the file is corrupt or of another architecture");
        }
    }

    /** The value of an integer key, which must lie in 1..max. */
    private static long range(GgufMetadata md, String key, long max) throws ModelFormatException {
        long value = md.getLong(key);
        if (value < 1 || value > max) {
            throw new ModelFormatException(md.file(), key(key), "value " + value + " is out of range (1.." + max + ")");
        }
        return value;
    }

    /** Head sizes Tessera does not support separately (value heads, partial rotary) must match the key heads. */
    private static void sameAsHeadDim(GgufMetadata md, String key, long headDim) throws ModelFormatException {
        if (md.contains(key) && md.getLong(key) != headDim) {
            throw new ModelFormatException(md.file(), key(key), "value " + md.getLong(key)
                    + " differs from the head dimension " + headDim + ", which is not supported");
        }
    }

    private static String names(List<String> names) {
        String shown = String.join(", ", names.subList(0, Math.min(NAMED_AT_MOST, names.size())));
        return names.size() > NAMED_AT_MOST ? shown + " and " + (names.size() - NAMED_AT_MOST) + " more" : shown;
    }

    private static String key(String key) {
        return "key '" + key + "'";
    }
}
