package io.tessera.engine.kv;

import io.tessera.engine.kv.BlockManager.BlockKey;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.zip.CRC32C;

/**
 * Tier 3: evicted blocks' contents as files in a directory, their sizes together at most
 * {@code capacityBytes}, least recently used first.
 *
 * <p>A file holds a header (magic, version, contents size, the block's chained hash, its parent's
 * hash and its tokens), the contents, and a CRC-32C of everything before it. It is written under a
 * temporary name and renamed, so a finished name never holds a partial file; a file that fails any
 * check when read back (size, header, tokens, checksum) is deleted and counted as a miss, never
 * loaded. The index lives in memory only: at start the directory's block files from an earlier run
 * are deleted (other files are left alone), and a lock file keeps two processes from sharing the
 * directory. Files are not synced: a crash leaves files the next start deletes.
 *
 * <p>Not thread-safe: used from the engine's thread.
 */
final class DiskTier implements AutoCloseable {

    static final String SUFFIX = ".kvblock";
    static final String TEMP_SUFFIX = ".kvblock.tmp";
    static final String LOCK_FILE = ".tessera-kv.lock";
    private static final int MAGIC = 0x42564b54; // "TKVB" read as little-endian bytes
    private static final int VERSION = 1;
    private static final System.Logger LOG = System.getLogger(DiskTier.class.getName());

    private record Entry(Path file, long size) {
    }

    private final Path dir;
    private final long capacity;
    private final long contentBytes;
    private final FileChannel lockChannel;
    private final FileLock lock;
    /** Access order: the eldest entry is the least recently stored or touched. */
    private final LinkedHashMap<BlockKey, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    private long stored;
    private long nextFile;
    long hits;
    long misses;
    long written;
    long read;
    long corrupt;
    long dropped;

    /**
     * @throws IOException when the directory cannot be created or used
     * @throws IllegalStateException when another process holds the directory
     */
    DiskTier(Path dir, long capacityBytes, long contentBytes) throws IOException {
        this.dir = dir;
        this.capacity = capacityBytes;
        this.contentBytes = contentBytes;
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IOException("it is not a directory");
        }
        Files.createDirectories(dir);
        this.lockChannel = FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock l;
        try {
            l = lockChannel.tryLock();
        } catch (OverlappingFileLockException e) {
            l = null;
        }
        if (l == null) {
            lockChannel.close();
            throw new IllegalStateException("the KV offload directory " + dir + " is in use by another engine");
        }
        this.lock = l;
        try {
            deleteBlockFiles();
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Bytes a block's file takes. */
    long fileBytes(int tokens) {
        return headerBytes(tokens) + contentBytes + 4;
    }

    private static int headerBytes(int tokens) {
        return 4 + 4 + 8 + 8 + 8 + 4 + 4 * tokens;
    }

    boolean contains(BlockKey key) {
        return entries.containsKey(key);
    }

    void touch(BlockKey key) {
        entries.get(key);
    }

    /** Writes a block's contents; makes room by deleting the least recently used files first. */
    void put(BlockKey key, MemorySegment contents) {
        if (entries.containsKey(key)) {
            touch(key);
            return;
        }
        long size = fileBytes(key.tokens().length);
        if (size > capacity) {
            dropped++;
            return;
        }
        while (stored + size > capacity) {
            Entry eldest = entries.remove(entries.keySet().iterator().next());
            stored -= eldest.size();
            delete(eldest);
            dropped++;
        }
        String name = Long.toHexString(key.hash()) + "-" + nextFile++;
        Path file = dir.resolve(name + SUFFIX);
        Path temp = dir.resolve(name + TEMP_SUFFIX);
        try {
            write(temp, key, contents);
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot write a KV block to " + temp + ": " + e.getMessage()
                    + "; the block is dropped");
            quietlyDelete(temp);
            dropped++;
            return;
        }
        entries.put(key, new Entry(file, size));
        stored += size;
        written += size;
    }

    /**
     * Reads a block's contents into {@code dst} and forgets the entry (the block goes back to the
     * pool). Returns false, deleting the file, when it is absent or fails a check.
     */
    boolean take(BlockKey key, MemorySegment dst) {
        Entry e = entries.remove(key);
        if (e == null) {
            misses++;
            return false;
        }
        stored -= e.size();
        try {
            String problem = readChecked(e.file(), key, dst);
            if (problem != null) {
                LOG.log(System.Logger.Level.WARNING, "KV block file " + e.file() + " " + problem
                        + "; treated as a miss");
                corrupt++;
                misses++;
                return false;
            }
        } catch (IOException ex) {
            LOG.log(System.Logger.Level.WARNING, "cannot read KV block file " + e.file() + ": " + ex.getMessage()
                    + "; treated as a miss");
            corrupt++;
            misses++;
            return false;
        } finally {
            delete(e);
        }
        hits++;
        read += e.size();
        return true;
    }

    private void write(Path temp, BlockKey key, MemorySegment contents) throws IOException {
        int[] tokens = key.tokens();
        ByteBuffer header = ByteBuffer.allocate(headerBytes(tokens.length)).order(ByteOrder.LITTLE_ENDIAN);
        header.putInt(MAGIC).putInt(VERSION).putLong(contentBytes).putLong(key.hash()).putLong(key.parentHash())
                .putInt(tokens.length);
        for (int t : tokens) {
            header.putInt(t);
        }
        header.flip();
        ByteBuffer body = contents.asSlice(0, contentBytes).asByteBuffer();
        CRC32C crc = new CRC32C();
        crc.update(header.duplicate());
        crc.update(body.duplicate());
        ByteBuffer tail = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) crc.getValue()).flip();
        try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            writeFully(ch, header);
            writeFully(ch, body);
            writeFully(ch, tail);
        }
    }

    /** Null when the file holds exactly this block's contents (now in dst), else what is wrong. */
    private String readChecked(Path file, BlockKey key, MemorySegment dst) throws IOException {
        int[] tokens = key.tokens();
        long expected = fileBytes(tokens.length);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size != expected) {
                return "has " + size + " bytes, expected " + expected;
            }
            ByteBuffer header = ByteBuffer.allocate(headerBytes(tokens.length)).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, header);
            header.flip();
            if (header.getInt() != MAGIC || header.getInt() != VERSION || header.getLong() != contentBytes) {
                return "has a wrong header";
            }
            if (header.getLong() != key.hash() || header.getLong() != key.parentHash()
                    || header.getInt() != tokens.length) {
                return "belongs to another block";
            }
            int[] stored = new int[tokens.length];
            for (int i = 0; i < stored.length; i++) {
                stored[i] = header.getInt();
            }
            if (!Arrays.equals(stored, tokens)) {
                return "holds other tokens";
            }
            ByteBuffer body = dst.asSlice(0, contentBytes).asByteBuffer();
            readFully(ch, body);
            body.flip();
            ByteBuffer tail = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, tail);
            CRC32C crc = new CRC32C();
            crc.update(header.flip());
            crc.update(body);
            if (tail.flip().getInt() != (int) crc.getValue()) {
                return "fails its checksum";
            }
            return null;
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new IOException("the file ended early");
            }
        }
    }

    private void delete(Entry e) {
        quietlyDelete(e.file());
    }

    private static void quietlyDelete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // a file that cannot be deleted is out of the index; the next start deletes it
        }
    }

    /** Deletes this tier's block files (finished or temporary) in the directory; leaves other files. */
    private void deleteBlockFiles() throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                String n = f.getFileName().toString();
                if ((n.endsWith(SUFFIX) || n.endsWith(TEMP_SUFFIX)) && Files.isRegularFile(f)) {
                    Files.delete(f);
                }
            }
        }
    }

    KvTierStats stats() {
        return new KvTierStats("disk", capacity, stored, entries.size(), hits, misses, written, read, corrupt, dropped);
    }

    @Override
    public void close() {
        for (Entry e : entries.values()) {
            delete(e);
        }
        entries.clear();
        stored = 0;
        try {
            if (lock != null) {
                lock.release();
            }
            lockChannel.close();
        } catch (IOException ignored) {
            // closing the lock file cannot lose anything
        }
    }
}
