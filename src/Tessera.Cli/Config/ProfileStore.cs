using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tessera.Cli.Config;

/// <summary>One signed-in Tessera: where, as whom, and the session token the CLI holds for it.</summary>
internal sealed record Profile(string Url, string? Token, string? Email, string? UserId, string? SessionId);

/// <summary>
/// The profiles, in one JSON file only the user can read: <c>$TESSERA_CONFIG</c>, else <c>~/.config/tessera/config.json</c>.
/// It holds session tokens (bearer secrets), so on Unix the folder is 0700 and the file is written as a new 0600 file and
/// moved into place: it is never readable by others, not even for a moment, and a crash never leaves half a file.
/// </summary>
internal sealed class ProfileStore
{
    public const string DefaultProfile = "default";

    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public ProfileStore(string? path = null)
    {
        Path = path ?? DefaultPath();
    }

    public string Path { get; }

    public static string DefaultPath()
    {
        var configured = Environment.GetEnvironmentVariable("TESSERA_CONFIG");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }

        var folder = Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        return System.IO.Path.Combine(folder, "tessera", "config.json");
    }

    public Profile? Find(string name)
    {
        var profiles = Load()["profiles"] as JsonObject;
        return profiles?[name] is JsonObject found ? found.Deserialize<Profile>(Api.CliJson.Options) : null;
    }

    public void Save(string name, Profile profile)
    {
        var root = Load();
        var profiles = root["profiles"] as JsonObject ?? [];
        root["profiles"] = profiles;
        profiles[name] = JsonSerializer.SerializeToNode(profile, Api.CliJson.Options);
        Write(root);
    }

    private JsonObject Load()
    {
        if (!File.Exists(Path))
        {
            return [];
        }

        try
        {
            return JsonNode.Parse(File.ReadAllText(Path)) as JsonObject ?? [];
        }
        catch (JsonException exception)
        {
            throw new CliException($"The config file {Path} is not valid JSON ({exception.Message}); fix or remove it.", ExitCodes.Failed, "bad_config");
        }
    }

    private void Write(JsonObject root)
    {
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!;
        if (!Directory.Exists(folder))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(folder);
            }
            else
            {
                Directory.CreateDirectory(folder, OwnerOnlyFolder);
            }
        }

        var temporary = System.IO.Path.Combine(folder, $".{System.IO.Path.GetFileName(Path)}.{Environment.ProcessId}.tmp");
        var options = new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnlyFile;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                root.WriteTo(writer);
            }

            File.Move(temporary, Path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
