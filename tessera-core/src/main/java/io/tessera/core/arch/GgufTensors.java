package io.tessera.core.arch;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufFile;
import io.tessera.core.kernel.MatMul;
import io.tessera.core.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The tensors of an open GGUF file, looked up by name and checked against the configuration's
 * shapes. It notes the name of every tensor bound ({@link #used()}), so that a loader can tell
 * which tensors of the file the family left out.
 */
public record GgufTensors(GgufFile gguf, Set<String> used) implements TensorSource {

    public GgufTensors(GgufFile gguf) {
        this(gguf, new HashSet<>());
    }

    @Override
    public Path path() {
        return gguf.path();
    }

    @Override
    public boolean has(String name) throws ModelFormatException {
        return gguf.tensorInfo(name).isPresent();
    }

    @Override
    public Tensor matrix(String name, int rows, int cols) throws ModelFormatException {
        used.add(name);
        Tensor t = gguf.tensor(name);
        long[] d = t.dims();
        if (d.length != 2 || d[0] != cols || d[1] != rows) {
            throw new ModelFormatException(gguf.path(), "tensor '" + name + "'", "shape " + Arrays.toString(d)
                    + " does not match the metadata, expected [" + cols + ", " + rows + "]");
        }
        return t;
    }

    @Override
    public List<Tensor> stackedMatrices(String name, int count, int rows, int cols) throws ModelFormatException {
        used.add(name);
        Tensor t = gguf.tensor(name);
        long[] d = t.dims();
        if (d.length != 3 || d[0] != cols || d[1] != rows || d[2] != count) {
            throw new ModelFormatException(gguf.path(), "tensor '" + name + "'", "shape " + Arrays.toString(d)
                    + " does not match the metadata, expected [" + cols + ", " + rows + ", " + count + "]");
        }
        List<Tensor> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(t.stackedMatrix(i));
        }
        return out;
    }

    @Override
    public float[] vector(String name, int length) throws ModelFormatException {
        used.add(name);
        Tensor t = gguf.tensor(name);
        long[] d = t.dims();
        if (d.length != 1 || d[0] != length) {
            throw new ModelFormatException(gguf.path(), "tensor '" + name + "'", "shape " + Arrays.toString(d)
                    + " does not match the metadata, expected [" + length + "]");
        }
        float[] out = new float[length];
        MatMul.row(t, 0, out, 0);
        return out;
    }

    @Override
    public AutoCloseable resources() {
        return gguf;
    }
}
