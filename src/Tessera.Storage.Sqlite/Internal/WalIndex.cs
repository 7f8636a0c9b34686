using System.Collections.Concurrent;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace Tessera.Storage.Sqlite.Internal;

/// <summary>
/// The commit counter of a WAL-mode database, read from its wal-index (the <c>-shm</c> file every connection maps):
/// the header's <c>iChange</c> field, which a writer increments while it still holds the write lock, before the commit
/// returns to it (https://www.sqlite.org/walformat.html, "The WAL-Index Header"). It is the number
/// <c>PRAGMA data_version</c> is derived from, but it is read here from shared memory, without a call into SQLite and
/// without I/O, so that a session check can afford to read it.
/// </summary>
/// <remarks>
/// The mapping and its file descriptor are never closed, on purpose: SQLite locks the <c>-shm</c> file with POSIX
/// record locks, which belong to the process, and closing any descriptor of a file drops every such lock the process
/// holds on it, SQLite's included. Another process could then take this one for gone and reset the wal-index under
/// its feet. So there is one mapping per <c>-shm</c> file (by device and inode) for the life of the process.
/// </remarks>
internal sealed unsafe class WalIndex
{
    private const int ChangeCounterOffset = 8;

    private static readonly ConcurrentDictionary<string, WalIndex> Mapped = new(StringComparer.Ordinal);
    private static readonly ConcurrentBag<FileStream> Kept = [];

    // Held only so that nothing closes them (see remarks).
#pragma warning disable IDE0052, CA2213
    private readonly FileStream _file;
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
#pragma warning restore IDE0052, CA2213
    private readonly byte* _header;

    private WalIndex(FileStream file, MemoryMappedFile map, MemoryMappedViewAccessor view)
    {
        _file = file;
        _map = map;
        _view = view;
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _header = pointer + view.PointerOffset;
    }

    /// <summary>The counter now. A plain aligned 32-bit read of memory the writer updates; never torn.</summary>
    public uint Change => Volatile.Read(ref *(uint*)(_header + ChangeCounterOffset));

    /// <summary>The wal-index of <paramref name="databasePath"/>; a connection must have read the database first, so that it exists.</summary>
    public static WalIndex Of(string databasePath)
    {
        var shmPath = databasePath + "-shm";
        var identity = FileIdentity.Of(shmPath) ?? throw new FileNotFoundException("The database has no wal-index (-shm) file.", shmPath);
        return Mapped.GetOrAdd($"{shmPath}|{identity}", _ => Map(shmPath));
    }

    private static WalIndex Map(string shmPath)
    {
        var file = new FileStream(shmPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        try
        {
            var map = MemoryMappedFile.CreateFromFile(file, mapName: null, capacity: 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
            var view = map.CreateViewAccessor(0, ChangeCounterOffset + sizeof(uint), MemoryMappedFileAccess.Read);
            return new WalIndex(file, map, view);
        }
        catch
        {
            // Not closed even now (see remarks): a descriptor kept on a failure is the lesser harm.
            Kept.Add(file);
            throw;
        }
    }
}

/// <summary>Which file a path names right now (device and inode), to notice a database file that was replaced or deleted.</summary>
internal static unsafe partial class FileIdentity
{
    private static volatile bool s_statMissing;

    /// <summary>"device:inode" of <paramref name="path"/>, "present" where the platform cannot tell, or null when there is no such file.</summary>
    public static string? Of(string path)
    {
        if (OperatingSystem.IsLinux() && Environment.Is64BitProcess && !s_statMissing)
        {
            // struct stat begins with st_dev and st_ino, both 64-bit, on every 64-bit Linux glibc and musl target.
            Span<ulong> buffer = stackalloc ulong[32];
            try
            {
                fixed (ulong* stat = buffer)
                {
                    return Stat(path, stat) == 0 ? $"{buffer[0]}:{buffer[1]}" : null;
                }
            }
            catch (Exception exception) when (exception is DllNotFoundException or EntryPointNotFoundException)
            {
                // A libc without an exported stat (glibc before 2.33): tell presence only.
                s_statMissing = true;
            }
        }

        return File.Exists(path) ? "present" : null;
    }

    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static unsafe partial int Stat(string path, ulong* buffer);
}
