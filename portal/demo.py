"""Demo data for `manage.py seed_demo`: the Sverdlovsk region, its towns, spaces,
proposals, an open and a closed campaign, and one user of each role.

Demo data is a fixture, not a workflow: it writes rows directly with get_or_create /
update_or_create on natural keys (plus the account services for roles and
verification), so that running it twice gives exactly the same rows. Everything that
looks random comes from `random.Random` with a fixed seed; every date is an offset from
the local day the seed runs on, so a second run on the same day changes nothing.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from allauth.account.models import EmailAddress
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from portal import demo_images
from portal.accounts.models import Assurance, User
from portal.accounts.services import official_assign, user_mark_verified
from projects.models import Municipality, Proposal, ProposalPhoto, Region, Space, SpacePhoto
from projects.municipality_import import municipalities_parse
from projects.services import municipalities_import, photo_renditions_store, photo_store
from votes.models import (
    Ballot,
    Campaign,
    Entry,
    Method,
    Participation,
    SelectionRule,
    Tally,
    VoteGroup,
    design_group_label,
)
from votes.receipts import receipt_code_new, receipt_hash
from votes.services import (
    ImportedBallot,
    ballots_import,
    ledger_seal,
    results_publish,
    tally_compute,
    verification_approve,
)

REGION = {"name": "Свердловская область", "slug": "sverdlovskaya-oblast", "code": "RU-SVE"}

# Every municipal formation of the region, from the repository's data file (its README
# names the sources and which figures are confirmed); the 30 largest keep their slugs.
MUNICIPALITIES_FILE = Path(__file__).resolve().parent.parent / "projects" / "data" / "municipalities" / "ru-sve.csv"

PS, CY = Space.Kind.PUBLIC_SPACE, Space.Kind.COURTYARD

# (municipality slug, kind, name, address, latitude, longitude, area m², description)
SPACES: list[tuple[str, str, str, str, str, str, str, str]] = [
    (
        "ekaterinburg",
        PS,
        "Сквер у Театра драмы",
        "Октябрьская площадь, 2",
        "56.842900",
        "60.598900",
        "8400",
        "Сквер между Театром драмы и набережной Исети, место встреч и прогулок.",
    ),
    (
        "ekaterinburg",
        PS,
        "Набережная Исети у Макаровского моста",
        "ул. Челюскинцев, 2",
        "56.852600",
        "60.603500",
        "12600",
        "Участок набережной от Макаровского моста до Дворца молодёжи.",
    ),
    (
        "ekaterinburg",
        PS,
        "Парк «Зелёная роща»",
        "ул. Шейнкмана, 102",
        "56.827100",
        "60.605900",
        "92000",
        "Старый городской парк в центре с прогулочными аллеями.",
    ),
    (
        "ekaterinburg",
        PS,
        "Исторический сквер",
        "пр. Ленина, 32",
        "56.838600",
        "60.604300",
        "31000",
        "Плотинка и сквер вокруг неё — сердце города.",
    ),
    (
        "ekaterinburg",
        PS,
        "Бульвар Культуры на Уралмаше",
        "ул. Культуры, 3",
        "56.888500",
        "60.611200",
        "15800",
        "Бульвар у Дворца культуры Уралмашзавода.",
    ),
    (
        "ekaterinburg",
        PS,
        "Сквер на Химмаше",
        "ул. Грибоедова, 13",
        "56.748900",
        "60.660500",
        "9700",
        "Сквер в центре посёлка Химмаш у Дворца культуры.",
    ),
    (
        "ekaterinburg",
        PS,
        "Лесопарк «Каменные палатки»",
        "ул. Гагарина, 80",
        "56.844300",
        "60.678900",
        "54000",
        "Гранитные скалы у озера Шарташ, место прогулок и пикников.",
    ),
    (
        "ekaterinburg",
        PS,
        "Сквер у КТ «Космос»",
        "ул. Дзержинского, 2",
        "56.845800",
        "60.594600",
        "6200",
        "Площадь перед концертным театром у Городского пруда.",
    ),
    (
        "ekaterinburg",
        PS,
        "Парк Маяковского, южная часть",
        "ул. Мичурина, 230",
        "56.828300",
        "60.638100",
        "48000",
        "Южная часть Центрального парка культуры и отдыха.",
    ),
    (
        "ekaterinburg",
        PS,
        "Сквер на улице Ткачей",
        "ул. Ткачей, 6",
        "56.827400",
        "60.620100",
        "5300",
        "Небольшой сквер у жилых домов и офисов на Ткачей.",
    ),
    (
        "ekaterinburg",
        CY,
        "Двор на Малышева, 101",
        "ул. Малышева, 101",
        "56.837100",
        "60.626300",
        "2600",
        "Двор трёх пятиэтажек с детской площадкой 1980-х годов.",
    ),
    (
        "ekaterinburg",
        CY,
        "Двор на Белинского, 86",
        "ул. Белинского, 86",
        "56.824600",
        "60.615500",
        "1900",
        "Закрытый двор с парковкой и старыми тополями.",
    ),
    (
        "ekaterinburg",
        CY,
        "Двор на Вильгельма де Геннина, 33",
        "ул. Вильгельма де Геннина, 33",
        "56.786200",
        "60.519800",
        "3400",
        "Двор нового квартала в Академическом районе.",
    ),
    (
        "ekaterinburg",
        CY,
        "Двор на Куйбышева, 48",
        "ул. Куйбышева, 48",
        "56.829900",
        "60.615200",
        "2100",
        "Двор между домами сталинской постройки.",
    ),
    (
        "ekaterinburg",
        CY,
        "Двор на Сыромолотова, 11",
        "ул. Сыромолотова, 11",
        "56.854100",
        "60.666300",
        "3000",
        "Двор девятиэтажек на ЖБИ с двумя детскими площадками.",
    ),
    (
        "ekaterinburg",
        CY,
        "Двор на проспекте Космонавтов, 43",
        "пр. Космонавтов, 43",
        "56.883200",
        "60.617100",
        "2800",
        "Двор на Эльмаше рядом со школой.",
    ),
    (
        "ekaterinburg",
        CY,
        "Двор на Бардина, 40",
        "ул. Бардина, 40",
        "56.796100",
        "60.541200",
        "2400",
        "Двор на Юго-Западе с выходом к Зелёному бульвару.",
    ),
    (
        "ekaterinburg",
        PS,
        "Преображенский парк",
        "Академический район, ул. Вильгельма де Геннина",
        "56.791800",
        "60.527400",
        "150000",
        "Главный парк Академического района: лес, пруд и луга. Благоустройство парка выбрано "
        "жителями раньше; теперь выбирают, каким он будет.",
    ),
    (
        "nizhny-tagil",
        PS,
        "Театральная площадь",
        "пр. Ленина, 33",
        "57.911300",
        "59.979200",
        "14200",
        "Площадь перед драматическим театром.",
    ),
    (
        "nizhny-tagil",
        PS,
        "Набережная Тагильского пруда",
        "ул. Карла Маркса, 3",
        "57.917100",
        "59.962400",
        "21000",
        "Прогулочная набережная у Лисьей горы.",
    ),
    (
        "nizhny-tagil",
        PS,
        "Парк имени Бондина",
        "ул. Пархоменко, 1а",
        "57.903000",
        "59.993000",
        "110000",
        "Городской парк культуры и отдыха на Тагилстрое.",
    ),
    (
        "nizhny-tagil",
        PS,
        "Сквер на Вагонке",
        "ул. Мира, 38",
        "57.972400",
        "60.082500",
        "7300",
        "Сквер у Дворца культуры Уралвагонзавода.",
    ),
    (
        "nizhny-tagil",
        CY,
        "Двор на Красноармейской, 62",
        "ул. Красноармейская, 62",
        "57.913400",
        "59.976900",
        "2200",
        "Двор в центре с аркой на проспект.",
    ),
    (
        "nizhny-tagil",
        CY,
        "Двор на Зари, 20",
        "ул. Зари, 20",
        "57.978600",
        "60.074300",
        "2700",
        "Двор панельных домов на Вагонке.",
    ),
    (
        "kamensk-uralsky",
        PS,
        "Набережная Исети в Старом городе",
        "ул. Ленина, 36",
        "56.413200",
        "61.921400",
        "16400",
        "Набережная у Каменных ворот.",
    ),
    (
        "kamensk-uralsky",
        PS,
        "Сквер Строителей",
        "ул. Кунавина, 1",
        "56.416900",
        "61.930200",
        "6800",
        "Сквер у городского Дворца культуры.",
    ),
    (
        "kamensk-uralsky",
        CY,
        "Двор на Суворова, 18",
        "ул. Суворова, 18",
        "56.353700",
        "61.949800",
        "2300",
        "Двор в Синарском районе.",
    ),
    (
        "pervouralsk",
        PS,
        "Площадь Победы",
        "пр. Ильича, 26",
        "56.906700",
        "59.940100",
        "11200",
        "Главная площадь города с мемориалом.",
    ),
    (
        "pervouralsk",
        CY,
        "Двор на Ватутина, 47",
        "ул. Ватутина, 47",
        "56.912600",
        "59.952300",
        "2500",
        "Двор пятиэтажек у школы № 10.",
    ),
    (
        "verkhnyaya-pyshma",
        PS,
        "Сквер на Успенском проспекте",
        "Успенский пр., 48",
        "56.974300",
        "60.579300",
        "9100",
        "Сквер у фонтана в центре города.",
    ),
    (
        "verkhnyaya-pyshma",
        CY,
        "Двор на Чистова, 4",
        "ул. Чистова, 4",
        "56.970100",
        "60.576200",
        "1800",
        "Тихий двор с беседкой.",
    ),
    (
        "serov",
        PS,
        "Набережная Каквы",
        "ул. Ленина, 125",
        "59.601400",
        "60.578500",
        "13500",
        "Набережная реки Каквы у центрального моста.",
    ),
    (
        "serov",
        CY,
        "Двор на Ленина, 136",
        "ул. Ленина, 136",
        "59.605800",
        "60.581300",
        "2000",
        "Двор у городской библиотеки.",
    ),
    (
        "asbest",
        PS,
        "Сквер на улице Ленина",
        "ул. Ленина, 16",
        "57.006100",
        "61.462900",
        "5600",
        "Сквер у городской администрации.",
    ),
    (
        "revda",
        PS,
        "Набережная Ревдинского пруда",
        "ул. Карла Либкнехта, 2",
        "56.797600",
        "59.911200",
        "18800",
        "Набережная у заводской плотины.",
    ),
    (
        "polevskoy",
        PS,
        "Сквер у Дворца культуры СТЗ",
        "ул. Коммунистическая, 2",
        "56.490300",
        "60.220900",
        "7400",
        "Сквер в северной части города.",
    ),
    (
        "berezovsky",
        PS,
        "Сквер на улице Гагарина",
        "ул. Гагарина, 6",
        "56.909300",
        "60.801400",
        "4900",
        "Сквер первооткрывателей золота.",
    ),
]

S = Proposal.Status

# (key, space name, title, description, cost ₽, status)
# `key` is the proposal's stable demo name: it orders submission dates and names entries.
PROPOSALS: list[tuple[str, str, str, str, int, str]] = [
    # On the open Екатеринбург ballot (approved).
    (
        "ekb-drama",
        "Сквер у Театра драмы",
        "Новые скамейки и тень в сквере у Театра драмы",
        "Заменить бетонные лавки на деревянные скамейки со спинками, высадить 30 деревьев и поставить "
        "навесы от солнца у фонтана.",
        18500000,
        S.APPROVED,
    ),
    (
        "ekb-embankment",
        "Набережная Исети у Макаровского моста",
        "Велодорожка и освещение набережной Исети",
        "Проложить двустороннюю велодорожку вдоль воды, поставить 60 светодиодных опор и спуски к воде.",
        42000000,
        S.APPROVED,
    ),
    (
        "ekb-grove",
        "Парк «Зелёная роща»",
        "Инклюзивная детская площадка в «Зелёной роще»",
        "Площадка для детей с разными возможностями: качели-гнёзда, сенсорные панели, резиновое покрытие.",
        16000000,
        S.APPROVED,
    ),
    (
        "ekb-uralmash",
        "Бульвар Культуры на Уралмаше",
        "Реконструкция бульвара Культуры",
        "Новое мощение, сухой фонтан, амфитеатр для летних концертов и ремонт ограждений.",
        38000000,
        S.APPROVED,
    ),
    (
        "ekb-himmash",
        "Сквер на Химмаше",
        "Спортивная площадка и воркаут в сквере на Химмаше",
        "Площадка для уличных тренировок, тренажёры для старшего поколения и беговая дорожка по периметру.",
        9500000,
        S.APPROVED,
    ),
    (
        "ekb-palatki",
        "Лесопарк «Каменные палатки»",
        "Экотропа и смотровые площадки у Каменных палаток",
        "Деревянный настил по экотропе длиной 1,2 км, две смотровые площадки, информационные стенды.",
        21000000,
        S.APPROVED,
    ),
    (
        "ekb-malysheva",
        "Двор на Малышева, 101",
        "Двор на Малышева, 101: площадка и парковка",
        "Новая детская площадка, упорядоченная парковка на 24 места, освещение и контейнерная площадка.",
        6400000,
        S.APPROVED,
    ),
    (
        "ekb-syromolotova",
        "Двор на Сыромолотова, 11",
        "Двор на Сыромолотова: зона отдыха для всех возрастов",
        "Разделить двор на зоны: детская, спортивная, тихий отдых со скамейками и цветниками.",
        7200000,
        S.APPROVED,
    ),
    # Екатеринбург, submitted and waiting for moderation (not public).
    (
        "ekb-tkachey",
        "Сквер на улице Ткачей",
        "Фонтан в сквере на Ткачей",
        "Поставить небольшой фонтан и скамейки вокруг него.",
        5400000,
        S.SUBMITTED,
    ),
    (
        "ekb-belinskogo",
        "Двор на Белинского, 86",
        "Убрать парковку из двора на Белинского",
        "Перенести машины за шлагбаум и сделать газон.",
        3100000,
        S.SUBMITTED,
    ),
    # Екатеринбург, rejected and merged.
    (
        "ekb-cosmos-rink",
        "Сквер у КТ «Космос»",
        "Каток у «Космоса»",
        "Заливать каток на площади перед концертным театром каждую зиму.",
        2500000,
        S.REJECTED,
    ),
    (
        "ekb-drama-dup",
        "Сквер у Театра драмы",
        "Больше деревьев у Драмтеатра",
        "Посадить деревья в сквере у Театра драмы.",
        3000000,
        S.MERGED,
    ),
    # Екатеринбург, earlier years: completed and in works.
    (
        "ekb-historic",
        "Исторический сквер",
        "Ремонт Плотинки и подсветка Исторического сквера",
        "Восстановить гранитные парапеты, сделать архитектурную подсветку и новые туалеты.",
        64000000,
        S.COMPLETED,
    ),
    (
        "ekb-genina",
        "Двор на Вильгельма де Геннина, 33",
        "Детский городок во дворе на де Геннина",
        "Детский городок с горками, песочница под навесом, безопасное покрытие.",
        5800000,
        S.COMPLETED,
    ),
    (
        "ekb-kuibysheva",
        "Двор на Куйбышева, 48",
        "Благоустройство двора на Куйбышева, 48",
        "Новый асфальт, бордюры, скамейки, урны и освещение во дворе.",
        4300000,
        S.COMPLETED,
    ),
    (
        "ekb-mayakovsky",
        "Парк Маяковского, южная часть",
        "Скейт-парк в южной части парка Маяковского",
        "Бетонный скейт-парк с чашей и уличным фитнесом, освещение до 23:00.",
        27000000,
        S.UNDER_CONSTRUCTION,
    ),
    (
        "ekb-cosmonauts",
        "Двор на проспекте Космонавтов, 43",
        "Безопасный двор у школы на Космонавтов",
        "Искусственные неровности, тротуар вдоль дома, ограждение площадки.",
        3900000,
        S.IN_DESIGN,
    ),
    (
        "ekb-bardina",
        "Двор на Бардина, 40",
        "Выход из двора на Бардина к Зелёному бульвару",
        "Лестница с пандусом, освещённая дорожка и велопарковка.",
        4700000,
        S.SELECTED,
    ),
    # Выбрана жителями раньше: теперь голосуют за один из дизайн-проектов (DESIGN_PROJECTS).
    (
        "ekb-preobrazhensky",
        "Преображенский парк",
        "Благоустройство Преображенского парка",
        "Дорожки, освещение, места отдыха и площадки во всём парке; дизайн выбирают жители.",
        150000000,
        S.SELECTED,
    ),
    (
        "ekb-cosmos-square",
        "Сквер у КТ «Космос»",
        "Обновление площади у «Космоса»",
        "Новое покрытие площади, ступени к пруду и скамейки.",
        24000000,
        S.COMPLETED,
    ),
    # Нижний Тагил: the closed campaign's ballot.
    (
        "nt-theatre",
        "Театральная площадь",
        "Обновление Театральной площади",
        "Новое покрытие, светодинамический фонтан, скамейки и озеленение площади.",
        52000000,
        S.COMPLETED,
    ),
    (
        "nt-embankment",
        "Набережная Тагильского пруда",
        "Вторая очередь набережной Тагильского пруда",
        "Продолжить набережную до Лисьей горы: дорожки, освещение, причал для лодок.",
        61000000,
        S.UNDER_CONSTRUCTION,
    ),
    (
        "nt-bondin",
        "Парк имени Бондина",
        "Новые аллеи и площадки в парке Бондина",
        "Отремонтировать главную аллею, поставить детский игровой комплекс и туалеты.",
        34000000,
        S.APPROVED,
    ),
    (
        "nt-vagonka",
        "Сквер на Вагонке",
        "Сквер на Вагонке: свет и скамейки",
        "Освещение аллей, скамейки и цветники у ДК Уралвагонзавода.",
        12500000,
        S.APPROVED,
    ),
    (
        "nt-krasnoarmeyskaya",
        "Двор на Красноармейской, 62",
        "Двор на Красноармейской, 62",
        "Ремонт проездов, детская площадка и новые клумбы.",
        4800000,
        S.APPROVED,
    ),
    # Нижний Тагил, other years.
    (
        "nt-zari",
        "Двор на Зари, 20",
        "Спортивная площадка во дворе на Зари",
        "Хоккейная коробка, летом — площадка для мини-футбола.",
        6200000,
        S.COMPLETED,
    ),
    # Other towns.
    (
        "ku-embankment",
        "Набережная Исети в Старом городе",
        "Набережная у Каменных ворот",
        "Смотровые площадки, спуск к воде, освещение и скамейки.",
        29000000,
        S.COMPLETED,
    ),
    (
        "ku-builders",
        "Сквер Строителей",
        "Сквер Строителей: новая сцена",
        "Летняя сцена, зрительские скамьи, озеленение.",
        14000000,
        S.IN_DESIGN,
    ),
    (
        "ku-suvorova",
        "Двор на Суворова, 18",
        "Двор на Суворова, 18: площадка",
        "Детская площадка и скамейки.",
        3600000,
        S.APPROVED,
    ),
    (
        "pv-victory",
        "Площадь Победы",
        "Реконструкция площади Победы в Первоуральске",
        "Новое мощение, ремонт мемориала, освещение и цветники.",
        33000000,
        S.SELECTED,
    ),
    (
        "pv-vatutina",
        "Двор на Ватутина, 47",
        "Двор на Ватутина, 47",
        "Парковка, детская площадка и освещение.",
        4100000,
        S.COMPLETED,
    ),
    (
        "vp-uspensky",
        "Сквер на Успенском проспекте",
        "Сквер на Успенском: фонтан и зелень",
        "Ремонт фонтана, новые газоны и скамейки.",
        11000000,
        S.COMPLETED,
    ),
    (
        "vp-chistova",
        "Двор на Чистова, 4",
        "Двор на Чистова, 4: беседка и площадка",
        "Новая беседка, детская площадка и дорожки.",
        2900000,
        S.SUBMITTED,
    ),
    (
        "serov-kakva",
        "Набережная Каквы",
        "Набережная Каквы в Серове",
        "Прогулочная дорожка, освещение и смотровая площадка у моста.",
        26000000,
        S.UNDER_CONSTRUCTION,
    ),
    (
        "serov-lenina",
        "Двор на Ленина, 136",
        "Двор у библиотеки на Ленина, 136",
        "Скамейки для чтения, освещение, цветники.",
        2700000,
        S.APPROVED,
    ),
    (
        "asbest-lenina",
        "Сквер на улице Ленина",
        "Сквер на улице Ленина в Асбесте",
        "Новые дорожки, скамейки и детская площадка.",
        8800000,
        S.COMPLETED,
    ),
    (
        "revda-pond",
        "Набережная Ревдинского пруда",
        "Набережная Ревдинского пруда",
        "Дорожки вдоль воды, велопрокат, освещение, пляжная зона.",
        36000000,
        S.IN_DESIGN,
    ),
    (
        "polevskoy-stz",
        "Сквер у Дворца культуры СТЗ",
        "Сквер у ДК СТЗ в Полевском",
        "Ремонт фонтана и новая площадка для праздников.",
        9300000,
        S.REJECTED,
    ),
    (
        "berezovsky-gagarina",
        "Сквер на улице Гагарина",
        "Сквер первооткрывателей золота",
        "Арт-объект о золотодобыче, скамейки, освещение и цветники.",
        7600000,
        S.SELECTED,
    ),
]

# The proposal that MERGED ideas point to (listed earlier in PROPOSALS), and reasons for REJECTED ones.
MERGED_INTO = {"ekb-drama-dup": "ekb-drama"}
REJECTION_REASONS = {
    "ekb-cosmos-rink": "Площадь не выдерживает нагрузки ледовой заливки; каток работает в ЦПКиО.",
    "ekb-drama-dup": "Объединено с проектом «Новые скамейки и тень в сквере у Театра драмы».",
    "polevskoy-stz": "Территория находится в частной собственности и не может быть включена в программу.",
}
# The resident of Екатеринбург authored these.
RESIDENT_AUTHORED = {"ekb-malysheva", "ekb-syromolotova", "ekb-belinskogo"}

OPEN_CAMPAIGN_ENTRIES = [
    "ekb-drama",
    "ekb-embankment",
    "ekb-grove",
    "ekb-uralmash",
    "ekb-himmash",
    "ekb-palatki",
    "ekb-malysheva",
    "ekb-syromolotova",
]
# The design-project list beside the territory list: concepts for Преображенский парк
# (as in 2021, when residents chose between a design with an embankment, pier and
# amphitheatre and one that kept the park green). (key, title, description, cost ₽,
# style of the drawings: demo_images.rendering and demo_images.plan)
DESIGN_SPACE = "Преображенский парк"
DESIGN_PROJECTS: list[tuple[str, str, str, int, str]] = [
    (
        "ekb-preo-water",
        "Концепция «Набережная»: пирс, амфитеатр и скейт-парк",
        "Набережная пруда с пирсом, амфитеатр для летних концертов, скейт-парк и роллердром, смотровые "
        "площадки и детский городок. Парк становится местом активного отдыха для всего района.",
        148000000,
        "water",
    ),
    (
        "ekb-preo-meadow",
        "Концепция «Зелёный парк»: луга, дорожки и тишина",
        "Больше деревьев и газонов, пешеходные и велосипедные дорожки, скамейки вдоль аллей и поляна с "
        "небольшой сценой. Парк остаётся тихим и зелёным.",
        96000000,
        "meadow",
    ),
    (
        "ekb-preo-wood",
        "Концепция «Лесная тропа»: настилы и павильоны",
        "Деревянные настилы через лес, павильоны для отдыха, экотропа с табличками о птицах и растениях и "
        "детская площадка из природных материалов.",
        118000000,
        "wood",
    ),
]
DESIGN_STYLE_WORDS = {
    "water": "набережная с пирсом, пруды и мостик",
    "meadow": "луг с амфитеатром и сценой",
    "wood": "деревянный настил среди елей и павильон",
}

# Closed campaign: (proposal key, relative popularity on the ballot).
CLOSED_CAMPAIGN_ENTRIES = [
    ("nt-theatre", 34),
    ("nt-embankment", 27),
    ("nt-bondin", 18),
    ("nt-vagonka", 13),
    ("nt-krasnoarmeyskaya", 8),
]
CLOSED_CAMPAIGN_BALLOTS = 420
BALLOT_SEED = 20250601

DEMO_PASSWORD = "demo-portal-2026"  # noqa: S105  (demo only; printed by `make run`)
# (email, password, label): printed by `manage.py demo_credentials`.
DEMO_ADMIN_EMAIL = "admin@example.org"
DEMO_ADMIN_PASSWORD = "demo-admin-2026"  # noqa: S105  (demo only; printed by `make run`)

# Numbers of the 900 range that phonenumbers holds valid; one per demo user, unique.
DEMO_PHONES = {
    "region@example.org": "+79000000001",
    "ekb.official@example.org": "+79000000002",
    "moderator@example.org": "+79000000003",
    "volunteer@example.org": "+79000000004",
    "auditor@example.org": "+79000000005",
    "resident@example.org": "+79000000006",
    "commission@example.org": "+79000000007",
}
DEMO_USERS: list[tuple[str, str, str]] = [
    ("region@example.org", DEMO_PASSWORD, "Regional official (Свердловская область)"),
    ("ekb.official@example.org", DEMO_PASSWORD, "Municipal official (Екатеринбург)"),
    ("moderator@example.org", DEMO_PASSWORD, "Moderator"),
    ("volunteer@example.org", DEMO_PASSWORD, "Volunteer"),
    ("auditor@example.org", DEMO_PASSWORD, "Auditor"),
    ("resident@example.org", DEMO_PASSWORD, "Verified resident of Екатеринбург, 30"),
    ("commission@example.org", DEMO_PASSWORD, "Commission member (Нижний Тагил)"),
]


@dataclass(frozen=True)
class DemoSummary:
    municipalities: int
    spaces: int
    proposals: int
    campaigns: int
    ballots: int
    users: int


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


@transaction.atomic
def seed_demo(*, today: datetime.date | None = None) -> DemoSummary:
    """Create or bring up to date the demo rows; safe to run any number of times."""
    today = today or timezone.localdate()
    anchor = _local_midnight(today)

    def days(n: int) -> datetime.datetime:
        return anchor + datetime.timedelta(days=n)

    region, _ = Region.objects.update_or_create(code=REGION["code"], defaults=REGION)
    municipalities_import(rows=municipalities_parse(MUNICIPALITIES_FILE.read_text(encoding="utf-8")))
    municipalities = {m.slug: m for m in Municipality.objects.filter(region=region)}

    spaces: dict[str, Space] = {}
    for slug, kind, name, address, lat, lon, area, description in SPACES:
        spaces[name], _ = Space.objects.update_or_create(
            municipality=municipalities[slug],
            name=name,
            defaults={
                "kind": kind,
                "address": address,
                "latitude": Decimal(lat),
                "longitude": Decimal(lon),
                "area_m2": Decimal(area),
                "description": description,
            },
        )

    users = _seed_users(
        region=region,
        ekaterinburg=municipalities["ekaterinburg"],
        tagil=municipalities["nizhny-tagil"],
        today=today,
    )
    admin = User.objects.filter(email=DEMO_ADMIN_EMAIL).first() or User.objects.create_superuser(
        DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, full_name="Администратор портала"
    )
    if not admin.is_superuser or not admin.is_active or not admin.check_password(DEMO_ADMIN_PASSWORD):
        # Someone changed the demo admin: put back the log-in that `make run` prints.
        admin.is_superuser = admin.is_active = True
        admin.set_password(DEMO_ADMIN_PASSWORD)
        admin.save()

    # Lifecycle dates, as offsets in days from today, for each status. Open-ballot
    # ideas were approved just before the vote opened (10 days ago); works belong
    # to last year's vote.
    lifecycle: dict[str, dict[str, int]] = {
        S.SUBMITTED: {},
        S.APPROVED: {"approved_at": -12},
        S.SELECTED: {"approved_at": -400, "selected_at": -335},
        S.IN_DESIGN: {"approved_at": -400, "selected_at": -335, "design_at": -300},
        S.UNDER_CONSTRUCTION: {"approved_at": -400, "selected_at": -335, "design_at": -300, "construction_at": -150},
        S.COMPLETED: {
            "approved_at": -400,
            "selected_at": -335,
            "design_at": -300,
            "construction_at": -200,
            "completed_at": -60,
        },
        S.REJECTED: {"rejected_at": -20},
        S.MERGED: {"rejected_at": -20},
    }
    closed_keys = {key for key, _ in CLOSED_CAMPAIGN_ENTRIES}
    proposals: dict[str, Proposal] = {}
    for index, (key, space_name, title, description, cost, status) in enumerate(PROPOSALS):
        stamps = dict(lifecycle[status])
        if status == S.APPROVED and key in closed_keys:
            stamps = {"approved_at": -400}  # on last year's ballot, not selected
        earliest = min(stamps.values(), default=-15)
        fields = {
            "submitted_at": days(earliest - 30 + index % 7),
            **dict.fromkeys(
                ("approved_at", "selected_at", "design_at", "construction_at", "completed_at", "rejected_at")
            ),
            **{name: days(offset) for name, offset in stamps.items()},
        }
        spent = Decimal(0)
        if status == S.COMPLETED:
            spent = Decimal(cost) * Decimal("0.96")
        elif status == S.UNDER_CONSTRUCTION:
            spent = Decimal(cost) * Decimal("0.40")
        proposals[key], _ = Proposal.objects.update_or_create(
            space=spaces[space_name],
            title=title,
            defaults={
                "description": description,
                "estimated_cost": Decimal(cost),
                "spent": spent.quantize(Decimal("0.01")),
                "status": status,
                "rejection_reason": REJECTION_REASONS.get(key, ""),
                "author": users["resident@example.org"] if key in RESIDENT_AUTHORED else None,
                # Targets come earlier in PROPOSALS, so they exist by now.
                "merged_into": proposals[MERGED_INTO[key]] if key in MERGED_INTO else None,
                **fields,
            },
        )
    # The open vote of Екатеринбург: opened 10 days ago, closes in 30 days.
    ekb = municipalities["ekaterinburg"]
    open_campaign, _ = Campaign.objects.update_or_create(
        municipality=ekb,
        year=today.year + 1,
        kind=Campaign.Kind.TERRITORIES,
        defaults={
            "title": f"Выбираем общественные пространства на {today.year + 1} год",
            "description": "Отметьте от одного до трёх объектов, которые город благоустроит в следующем году. "
            "Проекты выбираются по числу голосов в пределах бюджета программы.",
            "ideas_open_at": days(-70),
            "ideas_close_at": days(-14),
            "voting_opens_at": days(-10),
            "voting_closes_at": days(30),
            "method": Method.APPROVAL,
            "min_choices": 1,
            "max_choices": 3,
            "budget": Decimal(120_000_000),
            "rule": SelectionRule.GREEDY,
            "show_live_standings": True,
            # As the federal vote of 2021–2022: a verified phone or better.
            "min_assurance": Assurance.PHONE_VERIFIED,
            "opened_at": days(-10),
            "closed_at": None,
        },
    )
    for position, key in enumerate(OPEN_CAMPAIGN_ENTRIES, start=1):
        Entry.objects.update_or_create(
            campaign=open_campaign,
            proposal=proposals[key],
            defaults={"external_id": str(position), "cost": proposals[key].estimated_cost, "position": position},
        )
    design_campaign = _seed_design_list(
        ekaterinburg=ekb, space=spaces[DESIGN_SPACE], territory_list=open_campaign, days=days
    )

    # Last year's vote of Нижний Тагил, closed, with imported ballots.
    tagil = municipalities["nizhny-tagil"]
    closed_campaign, _ = Campaign.objects.update_or_create(
        municipality=tagil,
        year=today.year,
        defaults={
            "title": f"Голосование за благоустройство {today.year} года",
            "description": "Жители выбрали один объект из пяти; победители — по числу голосов в пределах бюджета.",
            "ideas_open_at": days(-460),
            "ideas_close_at": days(-412),
            "voting_opens_at": days(-410),
            "voting_closes_at": days(-370),
            "method": Method.CHOOSE_ONE,
            "min_choices": 1,
            "max_choices": 1,
            "budget": Decimal(115_000_000),
            "rule": SelectionRule.GREEDY,
            "opened_at": days(-410),
            "closed_at": days(-370),
        },
    )
    entries = []
    for position, (key, _weight) in enumerate(CLOSED_CAMPAIGN_ENTRIES, start=1):
        entry, _ = Entry.objects.update_or_create(
            campaign=closed_campaign,
            proposal=proposals[key],
            defaults={"external_id": str(position), "cost": proposals[key].estimated_cost, "position": position},
        )
        entries.append(entry)
    _seed_closed_ballots(
        campaign=closed_campaign,
        entries=entries,
        weights=[weight for _, weight in CLOSED_CAMPAIGN_ENTRIES],
        opens_at=days(-410),
    )
    _seed_closed_results(campaign=closed_campaign, commission=users["commission@example.org"])
    _seed_pictures(spaces=list(spaces.values()), designs=design_campaign)

    return DemoSummary(
        municipalities=len(municipalities),
        spaces=len(spaces),
        proposals=len(proposals),
        campaigns=3,
        ballots=Ballot.objects.filter(campaign=closed_campaign).count(),
        users=len(users) + 1,
    )


def _seed_design_list(*, ekaterinburg: Municipality, space: Space, territory_list: Campaign, days) -> Campaign:
    """The design-project list of Преображенский парк beside the territory list, both open
    and one vote (a vote group) of Екатеринбург for next year; choose one concept."""
    year = territory_list.year
    group, _ = VoteGroup.objects.update_or_create(
        municipality=ekaterinburg,
        year=year,
        defaults={"title": f"Голосование за благоустройство Екатеринбурга на {year} год"},
    )
    if territory_list.vote_group_id != group.pk:
        territory_list.vote_group = group
        territory_list.save(update_fields=["vote_group"])
    campaign, _ = Campaign.objects.update_or_create(
        municipality=ekaterinburg,
        year=year,
        kind=Campaign.Kind.DESIGN,
        defaults={
            "title": "Каким будет Преображенский парк: выбираем дизайн-проект",
            "description": "Благоустройство Преображенского парка жители уже выбрали. Теперь выберите один из "
            "трёх дизайн-проектов: построят тот, что наберёт больше голосов. Откройте «Подробнее» у каждого "
            "проекта, чтобы увидеть визуализации и план.",
            "design_space": space,
            "vote_group": group,
            "ideas_open_at": None,
            "ideas_close_at": None,
            "voting_opens_at": days(-10),
            "voting_closes_at": days(30),
            "method": Method.CHOOSE_ONE,
            "min_choices": 1,
            "max_choices": 1,
            "budget": None,
            "rule": SelectionRule.TOP_K,
            "winners": 1,
            "min_assurance": Assurance.PHONE_VERIFIED,
            "opened_at": days(-10),
            "closed_at": None,
        },
    )
    for position, (_key, title, description, cost, _style) in enumerate(DESIGN_PROJECTS, start=1):
        proposal, _ = Proposal.objects.update_or_create(
            space=space,
            title=title,
            defaults={
                "kind": Proposal.Kind.DESIGN,
                "description": description,
                "estimated_cost": Decimal(cost),
                "status": Proposal.Status.APPROVED,
                "submitted_at": days(-40 + position),
                "approved_at": days(-12),
            },
        )
        Entry.objects.update_or_create(
            campaign=campaign,
            proposal=proposal,
            defaults={
                "external_id": str(position),
                "cost": proposal.estimated_cost,
                "position": position,
                "exclusivity_group": design_group_label(space.pk),
            },
        )
    return campaign


def _store_picture(model, *, image_bytes: bytes, **fields):
    photo = model.objects.create(image=photo_store(file=ContentFile(image_bytes, name="demo.jpg")), **fields)
    return photo_renditions_store(photo=photo)


def _seed_pictures(*, spaces: list[Space], designs: Campaign) -> None:
    """Pictures drawn by the project (portal.demo_images): one of each space, and each
    design project's two renderings and its plan. Only what is missing is drawn, so a
    second run adds nothing."""
    caption = "Рисунок для демонстрации"
    for space in spaces:
        if not space.photos.exists():
            image, description = demo_images.space_picture(space.name)
            _store_picture(
                SpacePhoto, image_bytes=demo_images.jpeg(image), space=space, alt_text=description, caption=caption
            )
    styles = {title: style for _key, title, _description, _cost, style in DESIGN_PROJECTS}
    for entry in designs.entries.select_related("proposal"):
        proposal = entry.proposal
        if proposal.photos.exists():
            continue
        style = styles[proposal.title]
        for view in (1, 2):
            _store_picture(
                ProposalPhoto,
                image_bytes=demo_images.jpeg(demo_images.rendering(f"{proposal.title}:{view}", style)),
                proposal=proposal,
                kind=ProposalPhoto.Kind.GENERAL,
                alt_text=f"Визуализация: {DESIGN_STYLE_WORDS[style]}, вид {view}",
                caption=f"Визуализация, вид {view}",
            )
        _store_picture(
            ProposalPhoto,
            image_bytes=demo_images.jpeg(demo_images.plan(proposal.title, style)),
            proposal=proposal,
            kind=ProposalPhoto.Kind.PLAN,
            alt_text="План парка сверху: газоны, дорожки, деревья, площадки" + (" и пруды" if style == "water" else ""),
        )


def _seed_users(
    *, region: Region, ekaterinburg: Municipality, tagil: Municipality, today: datetime.date
) -> dict[str, User]:
    R = User.Role
    # email → (full name, role, region scope, municipality scope)
    people = {
        "region@example.org": ("Ольга Сергеевна Белова", R.REGIONAL_OFFICIAL, region, []),
        "ekb.official@example.org": ("Андрей Викторович Гусев", R.MUNICIPAL_OFFICIAL, None, [ekaterinburg]),
        "moderator@example.org": ("Марина Олеговна Ткач", R.MODERATOR, region, []),
        "volunteer@example.org": ("Илья Денисович Орлов", R.VOLUNTEER, region, []),
        "auditor@example.org": ("Павел Андреевич Зорин", R.AUDITOR, region, []),
        "resident@example.org": ("Анна Михайловна Кузнецова", R.RESIDENT, None, []),
        "commission@example.org": ("Елена Викторовна Соколова", R.COMMISSION_MEMBER, None, [tagil]),
    }
    users: dict[str, User] = {}
    for email, password, _label in DEMO_USERS:
        full_name, role, scope_region, scope_municipalities = people[email]
        user = User.objects.filter(email=email).first() or User.objects.create_user(email, password)
        if not user.check_password(password):
            user.set_password(password)
        user.full_name = full_name
        user.municipality = ekaterinburg
        # Aged 30 for the whole of this year, so eligibility never flips between runs.
        user.birth_date = datetime.date(today.year - 30, 1, 1)
        # A verified phone each (the open vote asks for one); stamped once, so reruns keep it.
        user.phone = DEMO_PHONES[email]
        user.phone_verified_at = user.phone_verified_at or timezone.now()
        user.save()
        official_assign(user=user, role=role, region=scope_region, municipalities=scope_municipalities)
        user_mark_verified(user=user)
        # allauth's own record of a confirmed address, so the demo users log in on the web.
        EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
        users[email] = user
    return users


def _seed_closed_results(*, campaign: Campaign, commission: User) -> None:
    """The closed vote's final tally, counted and sealed by the same services as the
    Celery tasks, screened, approved by the commission and published. Counted once: a
    second run finds the tally done, the verification approved and leaves them."""
    if not Tally.objects.final_done().filter(campaign=campaign).exists():
        tally_compute(campaign_id=campaign.pk, final=True)
    ledger_seal(campaign_id=campaign.pk)  # publishing needs the seal; a sealed tally keeps its head
    campaign.refresh_from_db()
    if campaign.verification_approved_at is None and campaign.results_published_at is None:
        # Imported ballots have no accounts to screen: the screening finds nothing.
        verification_approve(campaign=campaign, actor=commission)
    results_publish(campaign=campaign)


def _seed_closed_ballots(*, campaign: Campaign, entries: list[Entry], weights: list[int], opens_at) -> None:
    """Imported ballots (channel 'import', as from a pabulib file): the only channel the
    database trigger accepts outside the voting window. Deterministic, and only the
    missing ones are written, so a second run adds nothing."""
    rng = random.Random(BALLOT_SEED)  # noqa: S311  (demo data, not a secret)
    wanted = []
    for number in range(1, CLOSED_CAMPAIGN_BALLOTS + 1):
        entry = rng.choices(entries, weights=weights)[0]
        cast_at = opens_at + datetime.timedelta(minutes=rng.randrange(0, 40 * 24 * 60))
        wanted.append((f"nt-{campaign.year}-{number:04d}", entry, cast_at))
    existing = set(Participation.objects.filter(campaign=campaign).values_list("external_voter_id", flat=True))
    missing = [row for row in wanted if row[0] not in existing]
    ballots_import(
        campaign=campaign,
        ballots=(
            ImportedBallot(
                external_voter_id=voter_id,
                voted_at=cast_at,
                # Random, like every receipt: a code derived from the voter id would let
                # anyone who reads this file find the demo ballots on the ledger.
                receipt_hash=receipt_hash(receipt_code_new()),
                choices=[(entry, 1)],
            )
            for voter_id, entry, cast_at in missing
        ),
    )
