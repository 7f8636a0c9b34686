using System.Runtime.Versioning;

namespace Tessera.Client.Tests;

/// <summary>The default token file: readable by its user only, replaced whole, and calm about a file another copy removed.</summary>
public sealed class FileTokenStoreTests : IDisposable
{
    private const string Token = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "tessera-client-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public void A_saved_token_is_read_back_and_a_cleared_one_is_gone()
    {
        var store = new FileTokenStore(Path.Combine(_root, "app", "session.token"));
        Assert.Null(store.Load());

        store.Save(Token);
        Assert.Equal(Token, store.Load());
        Assert.Equal(Token, new FileTokenStore(store.FilePath).Load());

        store.Clear();
        Assert.Null(store.Load());
        Assert.False(File.Exists(store.FilePath));
    }

    [Fact]
    public void Clearing_what_is_not_there_does_nothing()
    {
        new FileTokenStore(Path.Combine(_root, "no folder", "session.token")).Clear();
        var store = new FileTokenStore(Path.Combine(_root, "session.token"));
        store.Save(Token);
        store.Clear();
        store.Clear();
        Assert.Null(store.Load());
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void On_unix_the_file_is_mode_0600_in_a_folder_of_mode_0700()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix modes; on Windows the content is DPAPI-encrypted.");
        var store = new FileTokenStore(Path.Combine(_root, "app", "session.token"));

        store.Save(Token);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.FilePath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(store.FilePath)!));
        Assert.Equal(Token, File.ReadAllText(store.FilePath));
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void On_unix_a_save_over_a_file_others_could_read_leaves_a_file_only_the_user_can_read()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix modes.");
        Directory.CreateDirectory(_root);
        var path = Path.Combine(_root, "session.token");
        File.WriteAllText(path, "old");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var store = new FileTokenStore(path);

        store.Save(Token);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(Token, store.Load());
        Assert.Single(Directory.GetFiles(_root));
    }

    [Fact]
    public void An_empty_file_is_no_token()
    {
        Directory.CreateDirectory(_root);
        var path = Path.Combine(_root, "session.token");
        File.WriteAllText(path, "  \n");

        Assert.Null(new FileTokenStore(path).Load());
    }

    [Fact]
    public void The_default_store_of_an_app_is_under_the_users_local_app_data()
    {
        var store = FileTokenStore.ForApp("Tessera Desktop");

        Assert.EndsWith(Path.Combine("Tessera Desktop", "session.token"), store.FilePath, StringComparison.Ordinal);
        Assert.StartsWith(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), store.FilePath, StringComparison.Ordinal);
    }

    [Fact]
    public void The_device_read_from_the_machine_is_a_desktop_with_values_the_server_accepts()
    {
        var device = DeviceInfo.FromMachine();

        Assert.Equal("desktop", device.Platform);
        Assert.True(device.Name is null || device.Name.Length is > 0 and <= 100);
        Assert.True(device.Os is null || device.Os.Length is > 0 and <= 100);
        Assert.Equal("ab c", DeviceInfo.Clean(" a\u0007b\u202E c "));
        Assert.Null(DeviceInfo.Clean("\t\n"));
        Assert.Equal(100, DeviceInfo.Clean(new string('x', 300))!.Length);
    }
}
