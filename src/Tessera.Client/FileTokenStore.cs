using System.Security.Cryptography;
using System.Text;

namespace Tessera.Client;

/// <summary>
/// Keeps the token in a file only the user can read: on Unix the file is created with mode 0600 (in a folder made
/// with 0700), never widened and narrowed afterwards, so there is no moment when another user could open it; on
/// Windows its content is encrypted for the current user with DPAPI.
/// </summary>
/// <remarks>
/// A save writes a new file beside the old one and renames it over, so a copy of the app reading at the same moment
/// sees the old token or the new one, never half of one. Two copies of an app may share the file.
/// </remarks>
public sealed class FileTokenStore : ITokenStore
{
    private const UnixFileMode FileMode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode DirectoryMode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Binds the DPAPI blob to this use, so another app's blob for the same user is not taken for a token.</summary>
    private static readonly byte[] Entropy = "Tessera.Client token v1"u8.ToArray();

    public FileTokenStore(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        FilePath = Path.GetFullPath(path);
    }

    /// <summary>The token file.</summary>
    public string FilePath { get; }

    /// <summary>
    /// The default store of an app: <c>session.token</c> in a folder named <paramref name="appName"/> under the user's
    /// local application data directory (<c>%LOCALAPPDATA%</c>, <c>~/.local/share</c>, <c>~/Library/Application Support</c>).
    /// </summary>
    public static FileTokenStore ForApp(string appName)
    {
        ArgumentException.ThrowIfNullOrEmpty(appName);
        var root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        if (string.IsNullOrEmpty(root))
        {
            root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        }

        return new FileTokenStore(Path.Combine(root, appName, "session.token"));
    }

    public string? Load()
    {
        byte[] content;
        try
        {
            content = File.ReadAllBytes(FilePath);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        try
        {
            var token = Encoding.UTF8.GetString(OperatingSystem.IsWindows()
                ? ProtectedData.Unprotect(content, Entropy, DataProtectionScope.CurrentUser)
                : content).Trim();
            return token.Length == 0 ? null : token;
        }
        catch (CryptographicException)
        {
            // Another user's, another machine's or a damaged file: no token here.
            return null;
        }
    }

    public void Save(string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        var directory = Path.GetDirectoryName(FilePath)!;
        var bytes = Encoding.UTF8.GetBytes(token);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            bytes = ProtectedData.Protect(bytes, Entropy, DataProtectionScope.CurrentUser);
        }
        else
        {
            Directory.CreateDirectory(directory, DirectoryMode0700);
        }

        var temporary = FilePath + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode0600;
        }

        try
        {
            using (var file = new FileStream(temporary, options))
            {
                file.Write(bytes);
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, FilePath, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    public void Clear() => TryDelete(FilePath);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
            // Nothing to forget.
        }
    }
}
