namespace Tessera.Core.Invalidations;

/// <summary>
/// An access change was committed and applied on this node, but the bus could not confirm that every other node
/// heard it before its deadline. The change is not lost (the store holds it, and the bus delivers it again when it
/// can); the caller must not be told that the promise holds everywhere. The server answers 503.
/// </summary>
public sealed class InvalidationNotConfirmedException : Exception
{
    public InvalidationNotConfirmedException()
        : this("The change is saved but could not be confirmed on every node.")
    {
    }

    public InvalidationNotConfirmedException(string message)
        : base(message)
    {
    }

    public InvalidationNotConfirmedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
