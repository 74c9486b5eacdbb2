import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { CollectionDto, CollectionListDto, CreateCollectionDto, DeletedDto } from './dto/collection.dto.js';
import { collectionNotFound } from './errors/retrieval-errors.js';
import { KnownCollections } from './known-collections.js';
import { CollectionRecord, CollectionStats, VectorStore } from './store/vector-store.js';

@Injectable()
export class CollectionsService {
  constructor(
    private readonly store: VectorStore,
    private readonly config: AppConfig,
    private readonly known: KnownCollections,
  ) {}

  async create(dto: CreateCollectionDto): Promise<CollectionDto> {
    const model = dto.model === null ? null : (dto.model ?? this.config.embeddings.defaultModel);
    const created = await this.store.createCollection({ name: dto.name, model, dimensions: dto.dimensions ?? null, metadata: dto.metadata ?? {} });
    return view({ ...created, documents: 0, chunks: 0 });
  }

  async list(): Promise<CollectionListDto> {
    return { data: (await this.store.listCollections()).map(view) };
  }

  async get(name: string): Promise<CollectionDto> {
    const found = await this.store.getCollection(name);
    if (!found) throw collectionNotFound(name);
    return view(found);
  }

  async delete(name: string): Promise<DeletedDto> {
    this.known.forget(name);
    if (!(await this.store.deleteCollection(name))) throw collectionNotFound(name);
    return { id: name, deleted: true };
  }

  /** The collection (without counts), or 404 naming it (and `param`, the field that named it). */
  async require(name: string, param?: string): Promise<CollectionRecord> {
    const found = await this.store.findCollection(name);
    if (!found) throw collectionNotFound(name, param);
    return found;
  }
}

function view(c: CollectionStats): CollectionDto {
  return { name: c.name, model: c.model, dimensions: c.dimensions, metadata: c.metadata, documents: c.documents, chunks: c.chunks, created_at: c.created_at };
}
