using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ImFunctions.Core.Storage.Sqlite;

/// <summary>
/// A VFS over SQLite's default one that writes a WAL's frames with one system call per commit instead of two per page.
/// SQLite appends each frame to the WAL as two writes (its 24-byte header, then the page), so a commit of 25 pages
/// makes 50 <c>pwrite</c> calls; on the benchmark's machine a call costs ~6 µs whatever it carries (10 writes of 5
/// frames 60 µs, one write of the same bytes 7 µs), and the writer spent most of its time entering the kernel
/// (docs/benchmarks.md, <i>A WAL's frames in one write per commit</i>). Here a WAL file's writes that follow one
/// another are gathered in a buffer and written together when the commit frame (a frame header whose second field,
/// the database's size after the commit, is not zero) has its page, before anything else touches the file (a read,
/// a sync, its size, a truncation, a file control, closing it), when a write is not the next one in the file, and when
/// the buffer is full.
/// <para>
/// So nothing changes for durability or for readers. A commit is in the file, as before, when the call that wrote its
/// commit frame returns: before SQLite syncs it (synchronous=FULL) and before it publishes the commit in the
/// wal-index, where readers and the checkpointer learn which frames they may read. Frames of a transaction not yet
/// committed (SQLite spills them when its page cache fills) are never read by another connection, and the writer's
/// own reads of them write the buffer first. A process killed with frames in the buffer had not committed them.
/// </para>
/// Only WAL files are wrapped; the database file, its shared memory and every other file use SQLite's methods directly.
/// </summary>
static unsafe class WalWritesCombined
{
    const int SqliteOk = 0, SqliteNoMem = 7, SqliteOpenWal = 0x00080000;
    const int WalHeaderBytes = 32, FrameHeaderBytes = 24;
    /// <summary>29 frames of 4 KiB pages: SQLite's unix VFS writes at most 128 KiB − 1 bytes in one call (its length is masked with 0x1ffff).</summary>
    const int BufferBytes = 120 * 1024;

    static Vfs* underlying;

    /// <summary>Calls of the WAL files' write method by SQLite, and the writes they became (for the tests).</summary>
    internal static long WritesAsked => Interlocked.Read(ref writesAsked);
    internal static long WritesMade => Interlocked.Read(ref writesMade);
    static long writesAsked, writesMade;

    /// <summary>
    /// Registers the VFS as the process's default, over the default SQLite had; every connection opened after uses it.
    /// Once per process (<see cref="SqliteProcessSettings"/>). False if SQLite's default VFS is not one this can wrap
    /// (the unix and Windows ones are).
    /// </summary>
    internal static bool Register()
    {
        var wrapped = sqlite3_vfs_find(null);
        if (wrapped is null || wrapped->iVersion < 3) return false;
        underlying = wrapped;
        // A copy of the default VFS, its other methods and its own data (pAppData, which its xOpen reads) included.
        var vfs = (Vfs*)NativeMemory.AllocZeroed((nuint)sizeof(Vfs));
        *vfs = *wrapped;
        vfs->szOsFile = WalFile.Size + wrapped->szOsFile;
        vfs->pNext = null;
        vfs->zName = (byte*)Marshal.StringToCoTaskMemUTF8("imfunctions-wal");
        vfs->xOpen = &Open;
        return sqlite3_vfs_register(vfs, makeDefault: 1) == SqliteOk;
    }

    [UnmanagedCallersOnly]
    static int Open(Vfs* vfs, byte* name, File* file, int flags, int* outFlags)
    {
        if ((flags & SqliteOpenWal) == 0) return underlying->xOpen(underlying, name, file, flags, outFlags);
        var wal = (WalFile*)file;
        *wal = default;
        var rc = underlying->xOpen(underlying, name, wal->Underlying, flags, outFlags);
        // SQLite closes a file whose methods are set even when its open failed: then ours close the underlying one.
        if (wal->Underlying->pMethods is not null) wal->pMethods = Methods;
        return rc;
    }

    [UnmanagedCallersOnly]
    static int Write(File* file, void* data, int count, long offset)
    {
        var wal = (WalFile*)file;
        Interlocked.Increment(ref writesAsked);
        var completesCommit = wal->commitFramePending;   // SQLite writes a frame's page right after its header
        wal->commitFramePending = false;
        if (wal->length > 0 && (offset != wal->start + wal->length || wal->length + count > BufferBytes))
        {
            var rc = Flush(wal);
            if (rc != SqliteOk) return rc;
        }
        if (count > BufferBytes) return WriteThrough(wal, data, count, offset);
        if (wal->buffer is null)
        {
            try { wal->buffer = (byte*)NativeMemory.Alloc(BufferBytes); }
            catch (OutOfMemoryException) { return SqliteNoMem; }
        }
        if (wal->length == 0) wal->start = offset;
        Buffer.MemoryCopy(data, wal->buffer + wal->length, BufferBytes - wal->length, count);
        wal->length += count;
        if (completesCommit) return Flush(wal);   // the commit goes to the file before SQLite syncs or publishes it
        wal->commitFramePending = count == FrameHeaderBytes && offset >= WalHeaderBytes && ReadsAsCommit((byte*)data);
        return SqliteOk;
    }

    /// <summary>A frame header's bytes 4–7: the database's size in pages after the commit, zero in every other frame.</summary>
    static bool ReadsAsCommit(byte* frameHeader) => Unsafe.ReadUnaligned<uint>(frameHeader + 4) != 0;

    static int Flush(WalFile* wal)
    {
        if (wal->length == 0) return SqliteOk;
        var length = wal->length;
        wal->length = 0;
        return WriteThrough(wal, wal->buffer, length, wal->start);
    }

    static int WriteThrough(WalFile* wal, void* data, int count, long offset)
    {
        Interlocked.Increment(ref writesMade);
        return wal->Underlying->pMethods->xWrite(wal->Underlying, data, count, offset);
    }

    [UnmanagedCallersOnly]
    static int Close(File* file)
    {
        var wal = (WalFile*)file;
        var flushed = Flush(wal);
        var closed = wal->Underlying->pMethods->xClose(wal->Underlying);
        NativeMemory.Free(wal->buffer);
        wal->buffer = null;
        return flushed != SqliteOk ? flushed : closed;
    }

    // Everything else that touches the file first writes what the buffer holds.
    [UnmanagedCallersOnly]
    static int Read(File* file, void* data, int count, long offset) =>
        Flush((WalFile*)file) is var rc and not SqliteOk ? rc : Of(file)->pMethods->xRead(Of(file), data, count, offset);

    [UnmanagedCallersOnly]
    static int Truncate(File* file, long size) =>
        Flush((WalFile*)file) is var rc and not SqliteOk ? rc : Of(file)->pMethods->xTruncate(Of(file), size);

    [UnmanagedCallersOnly]
    static int Sync(File* file, int flags) =>
        Flush((WalFile*)file) is var rc and not SqliteOk ? rc : Of(file)->pMethods->xSync(Of(file), flags);

    [UnmanagedCallersOnly]
    static int FileSize(File* file, long* size) =>
        Flush((WalFile*)file) is var rc and not SqliteOk ? rc : Of(file)->pMethods->xFileSize(Of(file), size);

    [UnmanagedCallersOnly]
    static int FileControl(File* file, int op, void* arg) =>
        Flush((WalFile*)file) is var rc and not SqliteOk ? rc : Of(file)->pMethods->xFileControl(Of(file), op, arg);

    [UnmanagedCallersOnly]
    static int Lock(File* file, int level) => Of(file)->pMethods->xLock(Of(file), level);

    [UnmanagedCallersOnly]
    static int Unlock(File* file, int level) => Of(file)->pMethods->xUnlock(Of(file), level);

    [UnmanagedCallersOnly]
    static int CheckReservedLock(File* file, int* result) => Of(file)->pMethods->xCheckReservedLock(Of(file), result);

    [UnmanagedCallersOnly]
    static int SectorSize(File* file) => Of(file)->pMethods->xSectorSize(Of(file));

    [UnmanagedCallersOnly]
    static int DeviceCharacteristics(File* file) => Of(file)->pMethods->xDeviceCharacteristics(Of(file));

    static File* Of(File* file) => ((WalFile*)file)->Underlying;

    /// <summary>
    /// The WAL files' methods, version 1: SQLite maps shared memory and pages only through the database file, never
    /// through its WAL. Allocated once and never freed, as SQLite may call them until the process ends.
    /// </summary>
    static readonly IoMethods* Methods = CreateMethods();

    static IoMethods* CreateMethods()
    {
        var methods = (IoMethods*)NativeMemory.AllocZeroed((nuint)sizeof(IoMethods));
        methods->iVersion = 1;
        methods->xClose = &Close;
        methods->xRead = &Read;
        methods->xWrite = &Write;
        methods->xTruncate = &Truncate;
        methods->xSync = &Sync;
        methods->xFileSize = &FileSize;
        methods->xLock = &Lock;
        methods->xUnlock = &Unlock;
        methods->xCheckReservedLock = &CheckReservedLock;
        methods->xFileControl = &FileControl;
        methods->xSectorSize = &SectorSize;
        methods->xDeviceCharacteristics = &DeviceCharacteristics;
        return methods;
    }

    [DllImport("e_sqlite3")]
    static extern Vfs* sqlite3_vfs_find(byte* name);

    [DllImport("e_sqlite3")]
    static extern int sqlite3_vfs_register(Vfs* vfs, int makeDefault);

    // SQLite's structs (sqlite3.h), as far as this VFS reads or writes them.

    /// <summary><c>sqlite3_file</c>: every open file starts with its methods.</summary>
    internal struct File
    {
        public IoMethods* pMethods;
    }

    /// <summary>A WAL file as this VFS opens it: its methods, the buffer, then the underlying VFS's own file.</summary>
    struct WalFile
    {
        public IoMethods* pMethods;
        public byte* buffer;
        public long start;
        public int length;
        public bool commitFramePending;

        /// <summary>Where the underlying file begins: past these fields, 16-byte aligned.</summary>
        public static readonly int Size = (sizeof(WalFile) + 15) & ~15;

        public File* Underlying => (File*)((byte*)Unsafe.AsPointer(ref this) + Size);
    }

    /// <summary><c>sqlite3_io_methods</c>, version 1 (the version 2 and 3 methods follow in SQLite's struct).</summary>
    internal struct IoMethods
    {
        public int iVersion;
        public delegate* unmanaged<File*, int> xClose;
        public delegate* unmanaged<File*, void*, int, long, int> xRead;
        public delegate* unmanaged<File*, void*, int, long, int> xWrite;
        public delegate* unmanaged<File*, long, int> xTruncate;
        public delegate* unmanaged<File*, int, int> xSync;
        public delegate* unmanaged<File*, long*, int> xFileSize;
        public delegate* unmanaged<File*, int, int> xLock;
        public delegate* unmanaged<File*, int, int> xUnlock;
        public delegate* unmanaged<File*, int*, int> xCheckReservedLock;
        public delegate* unmanaged<File*, int, void*, int> xFileControl;
        public delegate* unmanaged<File*, int> xSectorSize;
        public delegate* unmanaged<File*, int> xDeviceCharacteristics;
    }

    /// <summary><c>sqlite3_vfs</c>, version 3.</summary>
    internal struct Vfs
    {
        public int iVersion;
        public int szOsFile;
        public int mxPathname;
        public Vfs* pNext;
        public byte* zName;
        public void* pAppData;
        public delegate* unmanaged<Vfs*, byte*, File*, int, int*, int> xOpen;
        public nint xDelete, xAccess, xFullPathname, xDlOpen, xDlError, xDlSym, xDlClose, xRandomness, xSleep,
            xCurrentTime, xGetLastError, xCurrentTimeInt64, xSetSystemCall, xGetSystemCall, xNextSystemCall;
    }
}
