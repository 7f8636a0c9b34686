namespace Tessera.Core.Notifications;

/// <summary>Where <see cref="OutboxPasswordResetSender"/> writes its messages.</summary>
public sealed class OutboxOptions
{
    /// <summary>The outbox directory; the server makes it <c>{DataDirectory}/outbox</c>.</summary>
    public string Directory { get; set; } = "./data/outbox";
}
