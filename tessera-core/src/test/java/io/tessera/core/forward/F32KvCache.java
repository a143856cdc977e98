package io.tessera.core.forward;

import io.tessera.core.model.ModelConfig;

/** A KV cache holding float32 values in heap arrays, one pair per layer: the tests' plain reference cache. */
public final class F32KvCache implements KvCache {

    private final int blockSize;
    private final int numBlocks;
    private final int kvDim;
    private final float[][] keys;
    private final float[][] values;

    public F32KvCache(ModelConfig config, int numBlocks, int blockSize) {
        this(config.layers(), config.kvDim(), numBlocks, blockSize);
    }

    public F32KvCache(int layers, int kvDim, int numBlocks, int blockSize) {
        long perLayer = (long) numBlocks * blockSize * kvDim;
        if (numBlocks <= 0 || blockSize <= 0 || perLayer > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("KV cache of " + numBlocks + " blocks × " + blockSize
                    + " tokens × " + kvDim + " values per layer is out of range");
        }
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        this.kvDim = kvDim;
        this.keys = new float[layers][(int) perLayer];
        this.values = new float[layers][(int) perLayer];
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public int numBlocks() {
        return numBlocks;
    }

    @Override
    public int kvDim() {
        return kvDim;
    }

    @Override
    public void store(int layer, int slot, float[] k, int kOffset, float[] v, int vOffset) {
        System.arraycopy(k, kOffset, keys[layer], slot * kvDim, kvDim);
        System.arraycopy(v, vOffset, values[layer], slot * kvDim, kvDim);
    }

    @Override
    public void readKey(int layer, int slot, int kvOffset, float[] dst, int dstOffset, int n) {
        System.arraycopy(keys[layer], slot * kvDim + kvOffset, dst, dstOffset, n);
    }

    @Override
    public void readValue(int layer, int slot, int kvOffset, float[] dst, int dstOffset, int n) {
        System.arraycopy(values[layer], slot * kvDim + kvOffset, dst, dstOffset, n);
    }

    @Override
    public void copyBlock(int src, int dst) {
        int len = blockSize * kvDim;
        for (int l = 0; l < keys.length; l++) {
            System.arraycopy(keys[l], src * len, keys[l], dst * len, len);
            System.arraycopy(values[l], src * len, values[l], dst * len, len);
        }
    }
}
