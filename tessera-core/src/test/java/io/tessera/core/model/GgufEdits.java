package io.tessera.core.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufFile;
import io.tessera.core.gguf.GgufTensorInfo;
import io.tessera.core.gguf.GgufWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

/** Copies of a GGUF file with some metadata changed or tensors added, for corruption tests. */
public final class GgufEdits {

    private GgufEdits() {
    }

    /**
     * Writes {@code dst}: the metadata of {@code src}, then {@code edit} (which may put, remove or
     * add tensors), then every tensor of {@code src}.
     */
    public static Path rewrite(Path src, Path dst, Consumer<GgufWriter> edit) throws IOException {
        try (GgufFile in = GgufFile.open(src)) {
            GgufWriter w = new GgufWriter().putAll(in.metadata());
            edit.accept(w);
            for (GgufTensorInfo t : in.tensorInfos()) {
                w.addRawTensor(t.name(), t.type(), t.dims(),
                        in.segment().asSlice(in.dataOffset() + t.offset(), t.byteSize()));
            }
            w.write(dst);
        }
        return dst;
    }

    /**
     * Loads {@code name}.gguf in {@code dir}, a copy of {@code good} with {@code edit} applied, and
     * returns the message of the error that refuses it (which must name the file first).
     */
    public static String refusal(Path good, Path dir, String name, Consumer<GgufWriter> edit) throws IOException {
        Path bad = rewrite(good, dir.resolve(name + ".gguf"), edit);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> LoadedModel.open(bad, null).close(),
                name + " must be refused");
        assertTrue(e.getMessage().startsWith(name + ".gguf: "), e.getMessage());
        return e.getMessage();
    }
}
