namespace Tessera.Redis;

/// <summary>Whether this node serves sessions from its memory or reads every check through to the store.</summary>
public enum RedisNodeState
{
    /// <summary>The node has proof that it hears every invalidation: its cache answers.</summary>
    Trusted,

    /// <summary>The node cannot prove it hears every invalidation: every check reads the store.</summary>
    Fenced,
}
